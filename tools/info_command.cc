// `attend info`: the version and the runtime configuration.
#include <fmt/format.h>

#include "attend/core/parallel.h"
#include "attend/core/version.h"
#include "attend/io/data_locations.h"
#include "attend/ops/matmul.h"
#include "attend/quant/quantized_matrix.h"
#include "commands.h"
#include "shipped_models.h"

namespace attend::tools {

namespace {

// Where each model and data set is, or was looked for (io/data_locations.h: a command's flag
// comes first; then the variable, the data directory, Debian's place).
void print_data_locations() {
  const std::string directory = io::data_directory();
  fmt::print("data directory: {}\n", directory.empty() ? "none (set ATTEND_DATA_DIR or HOME)" : directory);
  for (const io::DataLocation& location : io::locate_all()) {
    if (location.present) {
      fmt::print("  {}: {} (by {})\n", location.name, location.path, location.found_by);
    } else {
      fmt::print("  {}: not found (looked in {}, by {}; scripts/setup installs it)\n", location.name,
                 location.path.empty() ? "no place" : location.path, location.found_by);
    }
  }
  fmt::print("  G2P Transformer (pretrained/): {}\n", shipped_g2p_checkpoint());
}

}  // namespace

CommandRunner add_info_command(CLI::App& app) {
  CLI::App* info = app.add_subcommand("info", "print the version and the runtime configuration");
  return [info]() -> int {
    if (!info->parsed()) return -1;
    fmt::print("attend {}\n", version());
    fmt::print("build: {}\n", build_options());
    fmt::print("threads: {} (set ATTEND_NUM_THREADS or --threads)\n", num_threads());
    fmt::print("blas: {}\n", blas_description());
    fmt::print("quantized kernels: {}\n", quant::quantized_kernel_description());
    print_data_locations();
    return 0;
  };
}

}  // namespace attend::tools
