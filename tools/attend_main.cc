// attend: the command-line tool.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "attend/core/parallel.h"
#include "attend/distributed/communicator.h"
#include "attend/ops/matmul.h"
#include "cli_checks.h"
#include "commands.h"

namespace {

using attend::tools::AddCommand;

// The commands, in the order `attend --help` lists them.
constexpr AddCommand kCommands[] = {
    attend::tools::add_info_command,       attend::tools::add_explain_command,    attend::tools::add_train_command,
    attend::tools::add_g2p_command,        attend::tools::add_classify_command,   attend::tools::add_eval_command,
    attend::tools::add_average_command,    attend::tools::add_quantize_command,   attend::tools::add_viz_command,
    attend::tools::add_plot_command,       attend::tools::add_tokenize_command,   attend::tools::add_embed_command,
    attend::tools::add_similarity_command, attend::tools::add_search_command,     attend::tools::add_bench_command,
    attend::tools::add_generate_command,   attend::tools::add_perplexity_command, attend::tools::add_chat_command,
    attend::tools::add_heads_command,      attend::tools::add_serve_command,
};

// A command's output that did not reach its destination (a full disk, a closed pipe, /dev/full)
// fails the command: a script reading it must not take a truncated result for a whole one.
// Output goes through std::cout and C stdio (fmt::print) alike; both end in stdout's buffer.
int checked_output(int status) {
  errno = 0;  // what the first failing flush sets (the second has nothing left to write)
  std::cout.flush();
  const bool flushed = std::fflush(stdout) == 0;
  if (flushed && !std::ferror(stdout) && !std::cout.fail()) return status;
  std::fprintf(stderr, "attend: cannot write the output: %s\n", errno != 0 ? std::strerror(errno) : "write error");
  return status == 0 ? 2 : status;
}

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
  // --threads may also follow the command (`attend train g2p --threads 2`): one registration,
  // the same variable, on every command that does not take its own.
  attend::tools::for_each_command(app, [&](CLI::App& command) {
    if (command.get_option_no_throw("--threads") != nullptr) return;
    command.add_option("--threads", threads, "worker threads (default: ATTEND_NUM_THREADS or all cores)")
        ->check(attend::tools::integer_in(1, 1024));
  });
  attend::tools::hide_placeholder_defaults(app);

  // Before any thread starts: the BLAS's one-time setup touches the environment (ops/matmul.h).
  attend::initialize_blas();
  if (const int status = attend::tools::parse_command_line(app, argc, argv); status >= 0) return checked_output(status);
  attend::distributed::Communicator* group = nullptr;
  try {
    // Under mpirun (or srun) this joins the group; rank 0 alone prints results (docs/distributed.md).
    group = &attend::distributed::world();
    if (!group->is_root() && std::freopen("/dev/null", "w", stdout) == nullptr) return 2;
    if (threads > 0) attend::set_num_threads(threads);
    for (const auto& run : runners) {
      if (const int status = run(); status >= 0) return checked_output(status);
    }
  } catch (const std::exception& e) {  // attend::Error, or e.g. std::filesystem_error: a message, not an abort
    const bool in_group = group != nullptr && group->size() > 1;
    const std::string rank = in_group ? fmt::format(" (rank {} of {})", group->rank(), group->size()) : "";
    std::fprintf(stderr, "attend%s: %s\n", rank.c_str(), attend::tools::escape_for_terminal(e.what()).c_str());
    // The other ranks may be waiting for this one in a collective: stop them all rather than hang.
    if (in_group) group->abort(2);
    return 2;
  }
  return checked_output(0);
}
