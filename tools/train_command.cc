// `attend train TASK`: one subcommand per task, each in its own file.
#include "commands.h"

namespace attend::tools {

CommandRunner add_train_command(CLI::App& app) {
  CLI::App* train = app.add_subcommand("train", "train a model on a real data set");
  train->require_subcommand(1);
  const CommandRunner tasks[] = {add_train_g2p_command(*train), add_train_fashion_mnist_command(*train),
                                 add_train_classify_command(*train)};
  return [tasks]() -> int {
    for (const CommandRunner& run : tasks) {
      if (const int status = run(); status >= 0) return status;
    }
    return -1;
  };
}

}  // namespace attend::tools
