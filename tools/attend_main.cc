// attend: the command-line tool.
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "attend/attend.h"

namespace {

int run_info() {
  fmt::print("attend {}\n", ATTEND_VERSION);
  fmt::print("threads: {} (set ATTEND_NUM_THREADS or --threads)\n", attend::num_threads());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"attend: attention mechanisms, exact and differentiable"};
  app.require_subcommand(1);
  int threads = 0;
  app.add_option("--threads", threads, "worker threads (default: ATTEND_NUM_THREADS or all cores)")
      ->check(CLI::Range(1, 1024));
  CLI::App* info = app.add_subcommand("info", "print the version and the runtime configuration");
  CLI11_PARSE(app, argc, argv);
  try {
    if (threads > 0) attend::set_num_threads(threads);
    if (info->parsed()) return run_info();
  } catch (const attend::Error& e) {
    std::fprintf(stderr, "attend: %s\n", e.what());
    return 2;
  }
  return 0;
}
