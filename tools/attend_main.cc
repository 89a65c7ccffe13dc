// attend: the command-line tool.
#include <cstdio>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "attend/attend.h"
#include "explain.h"

namespace {

int run_info() {
  fmt::print("attend {}\n", ATTEND_VERSION);
  fmt::print("threads: {} (set ATTEND_NUM_THREADS or --threads)\n", attend::num_threads());
  return 0;
}

struct ExplainArguments {
  std::string input;
  std::string tokens;
  std::string mechanism = "all";
  std::string positional = "none";
  bool causal = false;
  bool json = false;
  int64_t heads = 2;
  uint64_t seed = 0;
};

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, ',')) parts.push_back(part);
  return parts;
}

int run_explain(const ExplainArguments& args) {
  attend::tools::ExplainOptions options;
  if (!args.input.empty()) options.input = attend::tools::parse_matrix(args.input);
  if (!args.tokens.empty()) options.tokens = split_commas(args.tokens);
  if (args.mechanism != "all") options.mechanisms = {args.mechanism};
  options.causal = args.causal;
  options.positional = args.positional;
  options.heads = args.heads;
  options.seed = args.seed;
  const auto explanation = attend::tools::explain(options);
  if (args.json) {
    std::cout << explanation.dump(2) << "\n";
  } else {
    std::cout << attend::tools::render_text(explanation);
  }
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

  ExplainArguments explain_args;
  CLI::App* explain = app.add_subcommand("explain", "print every step of attention on a small input");
  explain->add_option("--input", explain_args.input, "tokens as rows, e.g. '1,0;0,1;1,1' (default: 3 tokens in 2-D)");
  explain->add_option("--tokens", explain_args.tokens, "comma-separated token labels, one per row");
  explain->add_option("--mechanism", explain_args.mechanism, "dot, scaled-dot, additive, multi-head or all")
      ->check(CLI::IsMember({"dot", "scaled-dot", "additive", "multi-head", "all"}));
  explain->add_flag("--causal", explain_args.causal, "only the causal variant (default: both)");
  explain->add_option("--positional", explain_args.positional, "none or sinusoidal")
      ->check(CLI::IsMember({"none", "sinusoidal"}));
  explain->add_option("--heads", explain_args.heads, "heads for multi-head attention (must divide the features)");
  explain->add_option("--seed", explain_args.seed, "seed of the weight matrices");
  explain->add_flag("--json", explain_args.json, "machine-readable output");

  CLI11_PARSE(app, argc, argv);
  try {
    if (threads > 0) attend::set_num_threads(threads);
    if (info->parsed()) return run_info();
    if (explain->parsed()) return run_explain(explain_args);
  } catch (const attend::Error& e) {
    std::fprintf(stderr, "attend: %s\n", e.what());
    return 2;
  }
  return 0;
}
