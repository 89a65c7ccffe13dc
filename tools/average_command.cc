// `attend average CHECKPOINT... --out FILE`: the mean of several checkpoints' parameters.
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "attend/train/checkpoint_average.h"
#include "commands.h"

namespace attend::tools {
namespace {

struct AverageArguments {
  std::vector<std::string> checkpoints;
  std::string out;
  bool overwrite = false;
};

int run_average(const AverageArguments& args) {
  const io::Metadata metadata = train::write_averaged_checkpoint(args.checkpoints, args.out, args.overwrite);
  fmt::print("averaged {} checkpoints (steps {}) into {} (use: attend eval {})\n", metadata.at("averaged.count"),
             metadata.at("averaged.steps"), args.out, args.out);
  return 0;
}

}  // namespace

CommandRunner add_average_command(CLI::App& app) {
  auto average_args = std::make_shared<AverageArguments>();
  CLI::App* average = app.add_subcommand(
      "average",
      "average the parameters of several checkpoints of one run (e.g. its last snapshots) into a model file");
  average
      ->add_option("checkpoints", average_args->checkpoints,
                   "two or more model or checkpoint files of one run (attend train ... --keep-snapshots writes them)")
      ->required()
      ->expected(2, 1000);
  average->add_option("--out", average_args->out, "the averaged model file")->required();
  average->add_flag("--overwrite", average_args->overwrite, "replace --out if it exists");
  return [average, average_args]() -> int { return average->parsed() ? run_average(*average_args) : -1; };
}

}  // namespace attend::tools
