// `attend explain`: every step of attention on a small input (explain.h computes them).
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "cli_checks.h"
#include "commands.h"
#include "explain.h"

namespace attend::tools {
namespace {

struct ExplainArguments {
  std::string input;
  std::string tokens;
  std::string w_q, w_k, w_v, w_o;  // given weights, rows separated by ';'
  std::string q, k, v;             // given queries, keys and values
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
  ExplainOptions options;
  if (!args.input.empty()) options.input = parse_matrix(args.input);
  if (!args.tokens.empty()) options.tokens = split_commas(args.tokens);
  for (const auto& [text, option, matrix] : {std::tuple{&args.w_q, "--wq", &options.w_q},
                                             {&args.w_k, "--wk", &options.w_k},
                                             {&args.w_v, "--wv", &options.w_v},
                                             {&args.w_o, "--wo", &options.w_o},
                                             {&args.q, "--q", &options.queries},
                                             {&args.k, "--k", &options.keys},
                                             {&args.v, "--v", &options.values}}) {
    if (!text->empty()) *matrix = parse_matrix(*text, option);
  }
  if (args.mechanism != "all") options.mechanisms = {args.mechanism};
  options.causal = args.causal;
  options.positional = args.positional;
  options.heads = args.heads;
  options.seed = args.seed;
  const auto explanation = explain(options);
  if (args.json) {
    std::cout << explanation.dump(2) << "\n";
  } else {
    std::cout << render_text(explanation);
  }
  return 0;
}

}  // namespace

CommandRunner add_explain_command(CLI::App& app) {
  auto args = std::make_shared<ExplainArguments>();
  CLI::App* explain = app.add_subcommand("explain", "print every step of attention on a small input");
  explain->add_option("--input", args->input, "tokens as rows, e.g. '1,0;0,1;1,1' (default: 3 tokens in 2-D)");
  explain->add_option("--tokens", args->tokens, "comma-separated token labels, one per row (default: t0,t1,...)");
  explain->add_option("--wq", args->w_q,
                      "query weights W_Q (d_model x d_k), rows separated by ';', e.g. '1,0,1;1,0,0' (with --wk and "
                      "--wv; default: drawn from --seed)");
  explain->add_option("--wk", args->w_k, "key weights W_K (d_model x d_k) (default: drawn from --seed)");
  explain->add_option("--wv", args->w_v, "value weights W_V (d_model x d_v) (default: drawn from --seed)");
  explain->add_option("--wo", args->w_o, "multi-head output weights W_O (d_v x d_out) (default: drawn from --seed)");
  explain->add_option("--q", args->q,
                      "queries Q (N x d_k) instead of --input and weights, with --k and --v (default: X W_Q)");
  explain->add_option("--k", args->k, "keys K (M x d_k) (default: X W_K)");
  explain->add_option("--v", args->v, "values V (M x d_v) (default: X W_V)");
  explain->add_option("--mechanism", args->mechanism, "dot, scaled-dot, additive, multi-head or all")
      ->check(CLI::IsMember({"dot", "scaled-dot", "additive", "multi-head", "all"}))
      ->capture_default_str();
  explain->add_flag("--causal", args->causal, "only the causal variant (default: both)");
  explain->add_option("--positional", args->positional, "none or sinusoidal")
      ->check(CLI::IsMember({"none", "sinusoidal"}))
      ->capture_default_str();
  explain->add_option("--heads", args->heads, "heads for multi-head attention (must divide the features)")
      ->check(integer_in(1, kMaxHeads))
      ->capture_default_str();
  explain->add_option("--seed", args->seed, "seed of the weight matrices")
      ->check(unsigned_integer())
      ->capture_default_str();
  explain->add_flag("--json", args->json, "machine-readable output");
  return [explain, args]() -> int { return explain->parsed() ? run_explain(*args) : -1; };
}

}  // namespace attend::tools
