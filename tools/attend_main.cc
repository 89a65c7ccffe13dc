// attend: the command-line tool.
#include <cstdio>
#include <exception>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "attend/core/parallel.h"
#include "cli_checks.h"
#include "commands.h"

namespace {

using attend::tools::AddCommand;

// The commands, in the order `attend --help` lists them.
constexpr AddCommand kCommands[] = {
    attend::tools::add_info_command,     attend::tools::add_explain_command,  attend::tools::add_train_command,
    attend::tools::add_g2p_command,      attend::tools::add_classify_command, attend::tools::add_eval_command,
    attend::tools::add_average_command,  attend::tools::add_viz_command,      attend::tools::add_plot_command,
    attend::tools::add_tokenize_command, attend::tools::add_embed_command,    attend::tools::add_similarity_command,
    attend::tools::add_search_command,   attend::tools::add_bench_command,
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"attend: attention mechanisms, exact and differentiable"};
  app.require_subcommand(1);
  // Every option's default in --help: subcommands copy these defaults when they are added.
  app.option_defaults()->always_capture_default();
  int threads = 0;
  app.add_option("--threads", threads, "worker threads (default: ATTEND_NUM_THREADS or all cores)")
      ->check(attend::tools::integer_in(1, 1024));

  std::vector<attend::tools::CommandRunner> runners;
  for (const AddCommand add : kCommands) runners.push_back(add(app));
  attend::tools::hide_placeholder_defaults(app);

  if (const int status = attend::tools::parse_command_line(app, argc, argv); status >= 0) return status;
  try {
    if (threads > 0) attend::set_num_threads(threads);
    for (const auto& run : runners) {
      if (const int status = run(); status >= 0) return status;
    }
  } catch (const std::exception& e) {  // attend::Error, or e.g. std::filesystem_error: a message, not an abort
    std::fprintf(stderr, "attend: %s\n", attend::tools::escape_for_terminal(e.what()).c_str());
    return 2;
  }
  return 0;
}
