// Every command of the `attend` tool has the same shape: add_X registers command X (its options
// and help) on the application and returns the function that runs it, which returns the exit
// status when X was parsed and -1 when it was not. attend_main.cc is the table of them.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace attend::tools {

using CommandRunner = std::function<int()>;
using AddCommand = CommandRunner (*)(CLI::App& app);

CommandRunner add_info_command(CLI::App& app);     // info_command.cc
CommandRunner add_explain_command(CLI::App& app);  // explain_command.cc
CommandRunner add_bench_command(CLI::App& app);    // bench_command.cc

}  // namespace attend::tools
