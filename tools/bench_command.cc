// `attend bench attention`: scaled_dot_product_attention against this machine's sgemm and
// memcpy (bench.h measures; this file is the command line).
#include <iostream>
#include <memory>

#include "bench.h"
#include "cli_checks.h"
#include "commands.h"

namespace attend::tools {
namespace {

struct BenchArguments {
  BenchOptions options;
  bool json = false;
  bool list = false;   // print the cases, measure nothing
  bool serve = false;  // answer a peer's requests on stdin (bench.h)
};

int run_bench_attention(const BenchArguments& args) {
  const BenchOptions& options = args.options;
  if (args.serve) return serve_bench_requests(std::cin, std::cout, options);
  if (args.list) {
    validate(options);
    for (const BenchCase& c : bench_cases(options)) std::cout << case_json(c).dump() << "\n";
    return 0;
  }
  if (args.json) {
    run_attention_bench(options, {}, [](const BenchRow& row) { std::cout << row_json(row).dump() << std::endl; });
    return 0;
  }
  run_attention_bench(
      options, [&](const Roofline& roofline) { std::cout << text_header(roofline, options) << std::flush; },
      [](const BenchRow& row) { std::cout << text_row(row) << std::flush; });
  return 0;
}

}  // namespace

CommandRunner add_bench_command(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "measure performance against this machine's sgemm and memcpy");
  bench->require_subcommand(1);
  auto args = std::make_shared<BenchArguments>();
  BenchOptions& o = args->options;
  CLI::App* attention = bench->add_subcommand(
      "attention", "time scaled_dot_product_attention (reference and fused; forward, backward, decode)");
  attention->add_flag("--json", args->json, "one JSON object per line instead of the table");
  attention->add_flag("--list", args->list, "print the rows' cases as JSON lines and measure nothing");
  attention->add_flag("--serve", args->serve,
                      "time the cases a peer asks for on stdin, one JSON line each (bench/peers/pytorch_sdpa.py)");
  attention->add_flag("--quick", o.quick, "a small subset (D=64, N in {128, 512}, decode M=4096)");
  attention->add_option("--impl", o.implementations, "reference, fused or both")
      ->check(CLI::IsMember({"reference", "fused", "both"}))
      ->capture_default_str();
  attention->add_option("--max-n", o.max_n, "leave out prefill rows with N above this (>= 128)")
      ->check(integer_in(1, 65536))
      ->capture_default_str();
  attention->add_option("--head-dim", o.head_dims, "head widths D, e.g. 64,128 (default 64,128)")->delimiter(',');
  attention->add_option("--n", o.lengths, "prefill lengths N = M (default 128,512,1024,2048,4096)")->delimiter(',');
  attention->add_flag("--decode-only", o.decode_only, "only the decode rows (N=1)");
  attention->add_flag("--prefill-only", o.prefill_only, "no decode rows");
  attention->add_option("--repeats", o.repeats, "timed runs per row, at least 5 (ms is the median)")
      ->check(integer_in(5, 1000))
      ->capture_default_str();
  attention
      ->add_option("--rounds", o.rounds,
                   "rounds of (one roof run, a block of the row's runs) per row; %sgemm is their median")
      ->check(integer_in(3, 100))
      ->capture_default_str();
  attention
      ->add_option("--reference-memory-gb", o.reference_memory_limit_gb,
                   "skip reference rows estimated to need more tensor memory than this")
      ->check(positive_real())
      ->capture_default_str();
  attention->add_option("--kv-heads", o.kv_heads,
                        "key/value heads H_kv of every row, dividing H = 8 (default 8; 1: MQA)");
  attention->add_option("--threads", o.threads, "threads (default: as for attend --threads)")
      ->check(integer_in(1, 1024));
  return [attention, args]() -> int { return attention->parsed() ? run_bench_attention(*args) : -1; };
}

}  // namespace attend::tools
