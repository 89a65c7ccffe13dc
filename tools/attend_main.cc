// attend: the command-line tool.
#include <cstdio>
#include <exception>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "attend/attend.h"
#include "bench.h"
#include "cli_checks.h"
#include "explain.h"
#include "tokenize_command.h"
#include "train_command.h"
#include "viz_command.h"

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

struct BenchModes {
  bool json = false;
  bool list = false;   // print the cases, measure nothing
  bool serve = false;  // answer a peer's requests on stdin (bench.h)
};

int run_bench_attention(const attend::tools::BenchOptions& options, const BenchModes& modes) {
  if (modes.serve) return attend::tools::serve_bench_requests(std::cin, std::cout, options);
  if (modes.list) {
    attend::tools::validate(options);
    for (const auto& c : attend::tools::bench_cases(options)) std::cout << attend::tools::case_json(c).dump() << "\n";
    return 0;
  }
  if (modes.json) {
    attend::tools::run_attention_bench(options, {}, [](const attend::tools::BenchRow& row) {
      std::cout << attend::tools::row_json(row).dump() << std::endl;
    });
  } else {
    attend::tools::run_attention_bench(
        options, [&](const attend::tools::Roofline& roofline) {
          std::cout << attend::tools::text_header(roofline, options) << std::flush;
        },
        [](const attend::tools::BenchRow& row) { std::cout << attend::tools::text_row(row) << std::flush; });
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
  explain->add_option("--heads", explain_args.heads, "heads for multi-head attention (must divide the features)")
      ->check(attend::tools::integer_in(1, 1024))
      ->capture_default_str();
  explain->add_option("--seed", explain_args.seed, "seed of the weight matrices")
      ->check(attend::tools::unsigned_integer())
      ->capture_default_str();
  explain->add_flag("--json", explain_args.json, "machine-readable output");

  CLI::App* bench = app.add_subcommand("bench", "measure performance against this machine's sgemm and memcpy");
  bench->require_subcommand(1);
  attend::tools::BenchOptions bench_options;
  BenchModes bench_modes;
  CLI::App* bench_attention = bench->add_subcommand(
      "attention", "time scaled_dot_product_attention (reference and fused; forward, backward, decode)");
  bench_attention->add_flag("--json", bench_modes.json, "one JSON object per line instead of the table");
  bench_attention->add_flag("--list", bench_modes.list, "print the rows' cases as JSON lines and measure nothing");
  bench_attention->add_flag("--serve", bench_modes.serve,
                            "time the cases a peer asks for on stdin, one JSON line each (bench/peers/pytorch_sdpa.py)");
  bench_attention->add_option("--rounds", bench_options.rounds,
                              "rounds of (one roof run, a block of the row's runs) per row; %sgemm is their median")
      ->check(attend::tools::integer_in(3, 100))
      ->capture_default_str();
  bench_attention->add_flag("--quick", bench_options.quick, "a small subset (D=64, N in {128, 512}, decode M=4096)");
  bench_attention->add_option("--impl", bench_options.implementations, "reference, fused or both")
      ->check(CLI::IsMember({"reference", "fused", "both"}));
  bench_attention->add_option("--max-n", bench_options.max_n, "leave out prefill rows with N above this (>= 128)");
  bench_attention->add_option("--head-dim", bench_options.head_dims, "head widths D, e.g. 64,128 (default 64,128)")
      ->delimiter(',');
  bench_attention->add_option("--n", bench_options.lengths, "prefill lengths N = M (default 128,512,1024,2048,4096)")
      ->delimiter(',');
  bench_attention->add_flag("--decode-only", bench_options.decode_only, "only the decode rows (N=1)");
  bench_attention->add_flag("--prefill-only", bench_options.prefill_only, "no decode rows");
  bench_attention->add_option("--repeats", bench_options.repeats, "timed runs per row, at least 5 (ms is the median)");
  bench_attention->add_option("--reference-memory-gb", bench_options.reference_memory_limit_gb,
                              "skip reference rows estimated to need more tensor memory than this");
  bench_attention->add_option("--threads", bench_options.threads, "threads (default: as for attend --threads)")
      ->check(CLI::Range(1, 1024));

  const auto run_train = attend::tools::add_train_command(app);
  const auto run_viz = attend::tools::add_viz_commands(app);
  const auto run_tokenize = attend::tools::add_tokenize_command(app);

  if (const int status = attend::tools::parse_command_line(app, argc, argv); status >= 0) return status;
  try {
    if (threads > 0) attend::set_num_threads(threads);
    if (info->parsed()) return run_info();
    if (explain->parsed()) return run_explain(explain_args);
    if (const int status = run_train(); status >= 0) return status;
    if (const int status = run_viz(); status >= 0) return status;
    if (const int status = run_tokenize(); status >= 0) return status;
    if (bench_attention->parsed()) return run_bench_attention(bench_options, bench_modes);
  } catch (const std::exception& e) {  // attend::Error, or e.g. std::filesystem_error: a message, not an abort
    std::fprintf(stderr, "attend: %s\n", attend::tools::escape_for_terminal(e.what()).c_str());
    return 2;
  }
  return 0;
}
