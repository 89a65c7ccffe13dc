// `attend info`: the version and the runtime configuration.
#include <fmt/format.h>

#include "attend/core/parallel.h"
#include "attend/core/version.h"
#include "attend/ops/matmul.h"
#include "attend/quant/quantized_matrix.h"
#include "commands.h"

namespace attend::tools {

CommandRunner add_info_command(CLI::App& app) {
  CLI::App* info = app.add_subcommand("info", "print the version and the runtime configuration");
  return [info]() -> int {
    if (!info->parsed()) return -1;
    fmt::print("attend {}\n", version());
    fmt::print("build: {}\n", build_options());
    fmt::print("threads: {} (set ATTEND_NUM_THREADS or --threads)\n", num_threads());
    fmt::print("blas: {}\n", blas_description());
    fmt::print("quantized kernels: {}\n", quant::quantized_kernel_description());
    return 0;
  };
}

}  // namespace attend::tools
