// `attend bench attention`: how fast scaled_dot_product_attention runs, set against what this
// machine can do, measured in the same process with the same thread count:
//
//   compute roof  sgemm, size^3 (GFLOP/s): the faster of one cblas_sgemm call and
//                 attend::matmul spreading it over the threads
//   memory roof   memcpy of a buffer far larger than the caches (GB/s, read + write), the
//                 best of one thread and all of them
//
// Each row is one (implementation, shape, causal, pass): ms is the median of the timed runs
// after one warm-up, GFLOP/s counts only the (i, j) pairs the mask allows, and
// peak_extra_bytes is the most tensor memory a run held beyond what existed before it (its
// inputs), from attend::memory_stats().
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace attend::tools {

struct BenchOptions {
  std::string implementations = "both";  // "reference", "fused" or "both"
  bool quick = false;                    // D = 64, N in {128, 512}, decode M = 4096 (for tests)
  std::vector<int64_t> head_dims;        // D; empty: {64, 128} ({64} with quick)
  std::vector<int64_t> lengths;          // prefill N = M; empty: {128, 512, 1024, 2048, 4096}
  bool decode_only = false;              // only the N = 1 rows
  bool prefill_only = false;             // no N = 1 rows
  int64_t max_n = 4096;                  // prefill rows with N above this are left out
  int repeats = 5;                       // timed runs per row, at least 5; ms is their median
  double min_seconds = 0.2;              // more timed runs (up to 1000) until they add up to this
  int threads = 0;                       // 0: attend::num_threads()
  double reference_memory_limit_gb = 4;  // reference rows estimated to need more are skipped
  int64_t sgemm_size = 2048;             // the compute roof: sgemm of size x size x size
  int64_t copy_megabytes = 256;          // the memory roof: memcpy of this many MB (>> L3)
  uint64_t seed = 0;                     // inputs and output gradient are drawn from this seed
};

// Throws attend::ValueError naming the offending option.
void validate(const BenchOptions& options);

// What the machine does with `threads` threads (the copy: with 1 or `threads`, whichever is
// faster): the best of several runs of each.
struct Roofline {
  int threads = 1;
  int64_t sgemm_size = 0;
  double sgemm_gflops = 0;
  int64_t copy_bytes = 0;
  double copy_gbps = 0;  // (bytes read + bytes written) / time
  double load_average = 0;  // 1-minute load before measuring: others' processes skew every figure
};

double measure_sgemm_gflops(int64_t size, int threads, int runs);
double measure_copy_gbps(int64_t bytes, int runs);
Roofline measure_roofline(const BenchOptions& options);

// One row to measure. q (B, H, N, D), k and v (B, H_kv, M, D); causal is top-left aligned.
struct BenchCase {
  std::string implementation;  // "reference" or "fused"
  int64_t batch = 1;
  int64_t heads = 8;
  int64_t kv_heads = 8;
  int64_t queries = 0;  // N
  int64_t keys = 0;     // M
  int64_t head_dim = 0; // D
  bool causal = false;
  std::string pass = "forward";  // "forward" or "forward+backward"
  bool decode = false;           // N = 1 against a long cache: also reported in GB/s
};

// The rows `options` asks for, in output order (reference and fused of one shape side by side).
std::vector<BenchCase> bench_cases(const BenchOptions& options);

// (i, j) pairs with 0 <= i < N, 0 <= j < M that attention may use: N * M, or with the causal
// mask (j <= i) sum_i min(i + 1, M).
int64_t allowed_pairs(int64_t queries, int64_t keys, bool causal);

// Useful floating-point operations of a row: per allowed pair and head, forward is
// 2D (q.k) + 2D (p.v) = 4D; backward adds 10D (recompute q.k, dV, dP, dQ, dK), 14D in all.
double attention_flops(const BenchCase& c);

// Bytes of K and V a decode row reads: 2 * B * H_kv * M * D * 4.
double decode_bytes(const BenchCase& c);

// Rough tensor memory of the reference path for a row (it materializes (B, H, N, M) scores
// several times); used to skip rows that would not fit.
double estimated_reference_bytes(const BenchCase& c);

struct BenchRow {
  BenchCase shape;
  int threads = 1;
  double flops = 0;
  double sgemm_gflops = 0;
  std::string skipped;  // empty when measured; else why not (unsupported, too much memory)
  // Measured rows only:
  int runs = 0;
  double ms = 0;  // median
  double gflops = 0;
  double ratio_to_sgemm = 0;
  int64_t peak_extra_bytes = 0;
  // Decode rows only:
  std::optional<double> gbps;       // decode_bytes / time
  std::optional<double> copy_gbps;  // the memory roof, repeated for convenience
};

// Measures one row (warm-up, then timed runs). A kFused call that throws attend::Error gives
// a row skipped as "unsupported: <message>".
BenchRow run_case(const BenchCase& c, const Roofline& roofline, const BenchOptions& options);

// Validates, sets the thread count, measures the roofline, then every row. The callbacks see
// each result as soon as it exists (the full run takes minutes).
std::vector<BenchRow> run_attention_bench(const BenchOptions& options,
                                          const std::function<void(const Roofline&)>& on_roofline = {},
                                          const std::function<void(const BenchRow&)>& on_row = {});

// One JSON object: impl, B, H, N, M, D, causal, pass, threads, ms, gflops, sgemm_gflops,
// ratio_to_sgemm, peak_extra_bytes (+ gbps, copy_gbps for decode). A skipped row has the
// measurements null and a "skipped" reason.
nlohmann::ordered_json row_json(const BenchRow& row);

// The human table: a header with the roofline, then one line per row.
std::string text_header(const Roofline& roofline, const BenchOptions& options);
std::string text_row(const BenchRow& row);

}  // namespace attend::tools
