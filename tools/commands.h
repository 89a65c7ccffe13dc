// Every command of the `attend` tool has the same shape: add_X registers command X (its options
// and help) on the application and returns the function that runs it, which returns the exit
// status when X was parsed and -1 when it was not. attend_main.cc is the table of them.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace attend::tools {

using CommandRunner = std::function<int()>;
using AddCommand = CommandRunner (*)(CLI::App& app);

CommandRunner add_info_command(CLI::App& app);                   // info_command.cc
CommandRunner add_explain_command(CLI::App& app);                // explain_command.cc
CommandRunner add_train_command(CLI::App& app);                  // train_command.cc: the tasks below under `train`
CommandRunner add_train_g2p_command(CLI::App& train);            // train_g2p_command.cc
CommandRunner add_train_fashion_mnist_command(CLI::App& train);  // train_fashion_mnist_command.cc
CommandRunner add_train_classify_command(CLI::App& train);       // classify_command.cc
CommandRunner add_g2p_command(CLI::App& app);                    // pronounce_command.cc
CommandRunner add_classify_command(CLI::App& app);               // classify_command.cc
CommandRunner add_eval_command(CLI::App& app);                   // eval_command.cc
CommandRunner add_average_command(CLI::App& app);                // average_command.cc
CommandRunner add_quantize_command(CLI::App& app);               // quantize_command.cc
CommandRunner add_viz_command(CLI::App& app);                    // viz_command.cc
CommandRunner add_plot_command(CLI::App& app);                   // plot_command.cc
CommandRunner add_tokenize_command(CLI::App& app);               // tokenize_command.cc
CommandRunner add_embed_command(CLI::App& app);                  // embed_command.cc
CommandRunner add_similarity_command(CLI::App& app);             // embed_command.cc
CommandRunner add_search_command(CLI::App& app);                 // search_command.cc
CommandRunner add_bench_command(CLI::App& app);                  // bench_command.cc
CommandRunner add_generate_command(CLI::App& app);               // generate_command.cc
CommandRunner add_perplexity_command(CLI::App& app);             // perplexity_command.cc
CommandRunner add_chat_command(CLI::App& app);                   // chat_command.cc
CommandRunner add_heads_command(CLI::App& app);                  // heads_command.cc
CommandRunner add_serve_command(CLI::App& app);                  // serve_command.cc

}  // namespace attend::tools
