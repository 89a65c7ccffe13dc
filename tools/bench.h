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
//
// A busy minute on a 2-core machine moves any single figure, so a row's ratio to the roof is
// measured in rounds, roof and row interleaved (sgemm, row, sgemm, row, ...; memcpy for the
// decode rows): the row reports the median ratio over the rounds and its spread
// (max - min) / median, and flags it when the spread is wide.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
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
  int rounds = 5;                        // (roof, row) pairs per row, at least 3
  int64_t kv_heads = 8;                  // H_kv of every row (H = 8): 8 is multi-head, 1 multi-query
  double wide_spread = 0.10;             // rows whose ratio spread is above this are flagged
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
  double copy_gbps = 0;          // (bytes read + bytes written) / time
  double load_average = 0;       // 1-minute load before measuring: others' processes skew every figure
  bool sgemm_by_matmul = false;  // attend::matmul over the threads beat one cblas_sgemm call
  int copy_threads = 1;          // the thread count of the faster memcpy
  double int8_gmacs = 0;         // register-only peaks on every thread (kernels/peak_loops.h): int8
  double fma_gmacs = 0;          // multiply-adds (0 without an x86 integer dot product), float32 FMAs
};

Roofline measure_roofline(const BenchOptions& options);

// The roofs again, one timed run at a time, beside each row: sgemm of the roofline's size by
// the method that was faster there, and the memcpy of its buffer with the current threads.
class RoofProbe {
 public:
  struct Buffers;
  explicit RoofProbe(const Roofline& roofline);
  ~RoofProbe();
  double sgemm_gflops();
  double copy_gbps();

 private:
  const Roofline roofline_;
  std::unique_ptr<Buffers> buffers_;
};

// One row to measure. q (B, H, N, D), k and v (B, H_kv, M, D); causal is top-left aligned.
struct BenchCase {
  std::string implementation;  // "reference" or "fused"
  int64_t batch = 1;
  int64_t heads = 8;
  int64_t kv_heads = 8;
  int64_t queries = 0;   // N
  int64_t keys = 0;      // M
  int64_t head_dim = 0;  // D
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
  double ms = 0;  // median of every timed run
  double gflops = 0;
  double ratio_to_sgemm = 0;  // median over the rounds of (the round's GFLOP/s / its sgemm GFLOP/s)
  double ratio_spread = 0;    // (max - min) / median of the rounds' ratios (to the copy roof for decode)
  bool wide = false;          // ratio_spread > BenchOptions::wide_spread: do not trust this row
  int64_t peak_extra_bytes = 0;
  // Decode rows only:
  std::optional<double> gbps;           // decode_bytes / time
  std::optional<double> copy_gbps;      // the memory roof: median of the rounds' memcpy
  std::optional<double> ratio_to_copy;  // median over the rounds of (the round's GB/s / its memcpy GB/s)
};

// One row's inputs, made and warmed up once, timed in blocks of runs. Throws attend::Error when
// the implementation refuses the shape.
class CaseTimer {
 public:
  struct State;
  CaseTimer(const BenchCase& c, const BenchOptions& options);
  ~CaseTimer();
  // Seconds of each run: at least `min_runs`, and more (up to `max_runs`) until `min_seconds`.
  std::vector<double> time_block(int min_runs, double min_seconds, int max_runs);
  int64_t peak_extra_bytes() const { return peak_extra_bytes_; }

 private:
  std::unique_ptr<State> state_;
  int64_t peak_extra_bytes_ = 0;
};

// Why a row is not measured (the reference's estimated memory is above the limit), or empty.
std::string reason_to_skip(const BenchCase& c, const BenchOptions& options);

// Measures one row: a warm-up, then `options.rounds` rounds of (one roof run, a block of the
// row's runs). A kFused call that throws attend::Error gives a row skipped as
// "unsupported: <message>".
BenchRow run_case(const BenchCase& c, RoofProbe& roof, const Roofline& roofline, const BenchOptions& options);

// Validates, sets the thread count, measures the roofline, then every row. The callbacks see
// each result as soon as it exists (the full run takes minutes).
std::vector<BenchRow> run_attention_bench(const BenchOptions& options,
                                          const std::function<void(const Roofline&)>& on_roofline = {},
                                          const std::function<void(const BenchRow&)>& on_row = {});

// One JSON object: impl, B, H, N, M, D, causal, pass, threads, ms, runs, gflops, sgemm_gflops,
// ratio_to_sgemm, ratio_spread, wide, peak_extra_bytes (+ gbps, copy_gbps for decode). A
// skipped row has the measurements null and a "skipped" reason.
nlohmann::ordered_json row_json(const BenchRow& row);

// The human table: a header with the roofline, then one line per row.
std::string text_header(const Roofline& roofline, const BenchOptions& options);
std::string text_row(const BenchRow& row);

// The case of a row_json()/case_json() object (impl, B, H, N, M, D, causal, pass; H_kv = H).
nlohmann::ordered_json case_json(const BenchCase& c);
BenchCase case_from_json(const nlohmann::json& j);

// `attend bench attention --serve`, for a peer that interleaves its own timings with attend's
// (bench/peers/pytorch_sdpa.py). Reads one JSON request per line from `in`, answers one line each
// on `out`, until end of input:
//   {"case": CASE, "min_runs": R, "min_seconds": S}  -> {"seconds": [...], "peak_extra_bytes": B}
//                                                       or {"skipped": reason}
//   {"roof": "sgemm"} or {"roof": "copy"}            -> {"gflops": x} or {"gbps": x}
// A new case is set up and warmed up once; the same case again reuses its inputs. A request that
// cannot be read is answered {"error": message} and ends the session with status 2.
int serve_bench_requests(std::istream& in, std::ostream& out, const BenchOptions& options);

}  // namespace attend::tools
