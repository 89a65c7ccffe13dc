#include "bench.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include <fmt/format.h>

#include "attend/attention/scaled_dot_product.h"
#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/memory.h"
#include "attend/core/parallel.h"
#include "attend/core/random.h"
#include "attend/ops/matmul.h"

namespace attend::tools {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

constexpr double kGiga = 1e9;

std::vector<int64_t> head_dims(const BenchOptions& o) {
  if (!o.head_dims.empty()) return o.head_dims;
  return o.quick ? std::vector<int64_t>{64} : std::vector<int64_t>{64, 128};
}

std::vector<int64_t> prefill_lengths(const BenchOptions& o) {
  if (!o.lengths.empty()) return o.lengths;
  return o.quick ? std::vector<int64_t>{128, 512} : std::vector<int64_t>{128, 512, 1024, 2048, 4096};
}

}  // namespace

void validate(const BenchOptions& o) {
  ATTEND_CHECK(o.implementations == "reference" || o.implementations == "fused" || o.implementations == "both",
               ValueError, "bench: --impl must be reference, fused or both; got '{}'", o.implementations);
  ATTEND_CHECK(o.repeats >= 5 && o.repeats <= 1000, ValueError,
               "bench: --repeats must be in [5, 1000] (ms is the median of at least 5 timed runs); got {}", o.repeats);
  ATTEND_CHECK(o.min_seconds >= 0 && o.min_seconds <= 60, ValueError,
               "bench: the minimum timed seconds per row must be in [0, 60]; got {}", o.min_seconds);
  ATTEND_CHECK(o.threads >= 0 && o.threads <= 1024, ValueError, "bench: --threads must be in [1, 1024]; got {}",
               o.threads);
  ATTEND_CHECK(o.reference_memory_limit_gb > 0, ValueError, "bench: --reference-memory-gb must be > 0; got {}",
               o.reference_memory_limit_gb);
  ATTEND_CHECK(o.sgemm_size >= 64 && o.sgemm_size <= 16384, ValueError,
               "bench: the sgemm size must be in [64, 16384]; got {}", o.sgemm_size);
  ATTEND_CHECK(o.copy_megabytes >= 1 && o.copy_megabytes <= 16384, ValueError,
               "bench: the copy buffer must be in [1, 16384] MB; got {}", o.copy_megabytes);
  ATTEND_CHECK(o.rounds >= 3 && o.rounds <= 100, ValueError,
               "bench: --rounds must be in [3, 100] (a median and a spread need at least 3); got {}", o.rounds);
  ATTEND_CHECK(o.kv_heads >= 1 && 8 % o.kv_heads == 0, ValueError,
               "bench: --kv-heads must divide the 8 query heads (1, 2, 4 or 8); got {}", o.kv_heads);
  ATTEND_CHECK(o.wide_spread > 0, ValueError, "bench: the spread that flags a row must be > 0; got {}", o.wide_spread);
  ATTEND_CHECK(!(o.decode_only && o.prefill_only), ValueError,
               "bench: --decode-only and --prefill-only exclude each other");
  for (int64_t d : o.head_dims) {
    ATTEND_CHECK(d >= 1 && d <= 1024, ValueError, "bench: --head-dim must be in [1, 1024]; got {}", d);
  }
  for (int64_t n : o.lengths) {
    ATTEND_CHECK(n >= 1 && n <= 65536, ValueError, "bench: --n must be in [1, 65536]; got {}", n);
  }
  if (!o.decode_only) {
    const std::vector<int64_t> lengths = prefill_lengths(o);
    const int64_t smallest = *std::min_element(lengths.begin(), lengths.end());
    ATTEND_CHECK(o.max_n >= smallest, ValueError,
                 "bench: --max-n {} leaves no prefill row (the smallest N is {}); raise it or pass --decode-only",
                 o.max_n, smallest);
  }
}

// ---- the rows ----

std::vector<BenchCase> bench_cases(const BenchOptions& o) {
  std::vector<std::string> implementations;
  if (o.implementations != "fused") implementations.push_back("reference");
  if (o.implementations != "reference") implementations.push_back("fused");
  const std::vector<int64_t> dims = head_dims(o);
  const std::vector<int64_t> lengths = prefill_lengths(o);
  const std::vector<int64_t> caches = o.quick ? std::vector<int64_t>{4096} : std::vector<int64_t>{4096, 16384};

  std::vector<BenchCase> cases;
  if (!o.decode_only) {
    for (int64_t d : dims) {
      for (int64_t n : lengths) {
        if (n > o.max_n) continue;
        for (bool causal : {false, true}) {
          for (const char* pass : {"forward", "forward+backward"}) {
            for (const std::string& implementation : implementations) {
              BenchCase c;
              c.implementation = implementation;
              c.queries = c.keys = n;
              c.head_dim = d;
              c.causal = causal;
              c.pass = pass;
              c.kv_heads = o.kv_heads;
              cases.push_back(c);
            }
          }
        }
      }
    }
  }
  // Decode: one new query against a cache of M keys; every key is allowed (with the causal mask
  // bottom-right aligned it would be the same), so causal is off.
  for (int64_t d : o.prefill_only ? std::vector<int64_t>{} : dims) {
    for (int64_t m : caches) {
      for (const std::string& implementation : implementations) {
        BenchCase c;
        c.implementation = implementation;
        c.queries = 1;
        c.keys = m;
        c.head_dim = d;
        c.decode = true;
        c.kv_heads = o.kv_heads;
        cases.push_back(c);
      }
    }
  }
  return cases;
}

int64_t allowed_pairs(int64_t queries, int64_t keys, bool causal) {
  if (!causal) return queries * keys;
  // Rows i < M allow i + 1 keys (1 + 2 + ... + min(N, M)); rows i >= M allow all M.
  const int64_t triangle = std::min(queries, keys);
  return triangle * (triangle + 1) / 2 + (queries - triangle) * keys;
}

double attention_flops(const BenchCase& c) {
  const double per_pair = c.pass == "forward" ? 4.0 : 14.0;
  return per_pair * c.batch * c.heads * static_cast<double>(allowed_pairs(c.queries, c.keys, c.causal)) * c.head_dim;
}

double decode_bytes(const BenchCase& c) { return 2.0 * c.batch * c.kv_heads * c.keys * c.head_dim * sizeof(float); }

double estimated_reference_bytes(const BenchCase& c) {
  // Float (B, H, N, M) score-sized tensors alive at the peak, from memory_stats() at
  // N = M = 512 (2.1, 5.3 and 6.3 measured): forward holds the scores and the next op's output;
  // forward+backward keeps every intermediate on the tape and adds their gradients, one more
  // with the causal mask (masked_fill's output). The mask itself is one byte per pair, twice.
  const double scores = static_cast<double>(c.batch) * c.heads * c.queries * c.keys * sizeof(float);
  const double copies = c.pass == "forward" ? 2.2 : c.causal ? 6.5 : 5.5;
  return copies * scores + (c.causal ? 2.0 * c.queries * c.keys : 0.0);
}

// q (B, H, N, D), k and v (B, H_kv, M, D), d_output (B, H, N, D): the fixed gradient of the
// output (forward+backward only); the options select the row's implementation and mask.
struct CaseTimer::State {
  BenchCase shape;
  Tensor<float> q, k, v, d_output;
  AttentionOptions<float> attention;
};

CaseTimer::CaseTimer(const BenchCase& c, const BenchOptions& options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.shape = c;
  Generator generator(options.seed);
  s.q = Tensor<float>::randn({c.batch, c.heads, c.queries, c.head_dim}, generator);
  s.k = Tensor<float>::randn({c.batch, c.kv_heads, c.keys, c.head_dim}, generator);
  s.v = Tensor<float>::randn({c.batch, c.kv_heads, c.keys, c.head_dim}, generator);
  if (c.pass != "forward") s.d_output = Tensor<float>::randn({c.batch, c.heads, c.queries, c.head_dim}, generator);
  s.attention.causal = c.causal;
  s.attention.implementation =
      c.implementation == "fused" ? AttentionImplementation::kFused : AttentionImplementation::kReference;
  time_block(1, 0, 1);  // warm-up
  peak_extra_bytes_ = 0;
}

CaseTimer::~CaseTimer() = default;

namespace {

// One run of the row; everything it allocates is freed before it returns (that is timed too).
double run_once(const CaseTimer::State& s) {
  const auto start = Clock::now();
  if (s.shape.pass == "forward") {
    NoGradGuard no_grad;
    const Tensor<float> output = scaled_dot_product_attention(s.q, s.k, s.v, s.attention).output;
  } else {
    // Fresh leaves on the same data, so that each run starts without gradients.
    Tensor<float> q = s.q.detach(), k = s.k.detach(), v = s.v.detach();
    q.set_requires_grad();
    k.set_requires_grad();
    v.set_requires_grad();
    const Tensor<float> output = scaled_dot_product_attention(q, k, v, s.attention).output;
    output.backward(s.d_output);  // the gradient of sum(output * d_output)
  }
  return seconds_since(start);
}

}  // namespace

std::vector<double> CaseTimer::time_block(int min_runs, double min_seconds, int max_runs) {
  std::vector<double> seconds;
  double total = 0;
  while (static_cast<int>(seconds.size()) < min_runs ||
         (total < min_seconds && static_cast<int>(seconds.size()) < max_runs)) {
    const int64_t before = memory_stats().live_bytes;
    reset_peak_memory();
    seconds.push_back(run_once(*state_));
    total += seconds.back();
    peak_extra_bytes_ = std::max(peak_extra_bytes_, memory_stats().peak_bytes - before);
  }
  return seconds;
}

std::string reason_to_skip(const BenchCase& c, const BenchOptions& options) {
  if (c.implementation != "reference") return "";
  const double estimate = estimated_reference_bytes(c);
  if (estimate <= options.reference_memory_limit_gb * kGiga) return "";
  return fmt::format("reference needs ~{:.1f} GB > limit {:g} GB (--reference-memory-gb)", estimate / kGiga,
                     options.reference_memory_limit_gb);
}

namespace {

// Each round: one roof run, then a block of the row's runs (the rounds share --repeats and the
// minimum seconds); the round's ratio is the block's median speed over that roof run's.
void measure_in_rounds(BenchRow& row, CaseTimer& timer, RoofProbe& roof, const BenchOptions& options) {
  const BenchCase& c = row.shape;
  const int runs_per_round = (options.repeats + options.rounds - 1) / options.rounds;
  std::vector<double> all_seconds, ratios, roofs;
  for (int round = 0; round < options.rounds; ++round) {
    roofs.push_back(c.decode ? roof.copy_gbps() : roof.sgemm_gflops());
    const std::vector<double> block =
        timer.time_block(runs_per_round, options.min_seconds / options.rounds, 1000 / options.rounds);
    all_seconds.insert(all_seconds.end(), block.begin(), block.end());
    const double time = median(block);
    ratios.push_back((c.decode ? decode_bytes(c) : row.flops) / time / kGiga / roofs.back());
  }
  row.runs = static_cast<int>(all_seconds.size());
  const double time = median(all_seconds);
  row.ms = time * 1e3;
  row.gflops = row.flops / time / kGiga;
  row.peak_extra_bytes = timer.peak_extra_bytes();
  const double ratio = median(ratios);
  row.ratio_spread =
      (*std::max_element(ratios.begin(), ratios.end()) - *std::min_element(ratios.begin(), ratios.end())) / ratio;
  row.wide = row.ratio_spread > options.wide_spread;
  if (c.decode) {
    row.gbps = decode_bytes(c) / time / kGiga;
    row.copy_gbps = median(roofs);
    row.ratio_to_copy = ratio;
    row.ratio_to_sgemm = row.gflops / row.sgemm_gflops;
  } else {
    row.sgemm_gflops = median(roofs);
    row.ratio_to_sgemm = ratio;
  }
}

}  // namespace

BenchRow run_case(const BenchCase& c, RoofProbe& roof, const Roofline& roofline, const BenchOptions& options) {
  BenchRow row;
  row.shape = c;
  row.threads = roofline.threads;
  row.flops = attention_flops(c);
  row.sgemm_gflops = roofline.sgemm_gflops;
  if (c.decode) row.copy_gbps = roofline.copy_gbps;
  row.skipped = reason_to_skip(c, options);
  if (!row.skipped.empty()) return row;
  try {
    CaseTimer timer(c, options);
    measure_in_rounds(row, timer, roof, options);
  } catch (const Error& e) {
    if (c.implementation != "fused") throw;
    row.skipped = fmt::format("unsupported: {}", e.what());
  } catch (const std::bad_alloc&) {
    row.skipped = "out of memory";
  }
  return row;
}

std::vector<BenchRow> run_attention_bench(const BenchOptions& options,
                                          const std::function<void(const Roofline&)>& on_roofline,
                                          const std::function<void(const BenchRow&)>& on_row) {
  validate(options);
  std::optional<ThreadCountGuard> threads;
  if (options.threads > 0) threads.emplace(options.threads);
  const Roofline roofline = measure_roofline(options);
  if (on_roofline) on_roofline(roofline);
  RoofProbe roof(roofline);
  std::vector<BenchRow> rows;
  for (const BenchCase& c : bench_cases(options)) {
    rows.push_back(run_case(c, roof, roofline, options));
    if (on_row) on_row(rows.back());
  }
  return rows;
}

// ---- output ----

nlohmann::ordered_json row_json(const BenchRow& row) {
  using Json = nlohmann::ordered_json;
  const BenchCase& c = row.shape;
  const bool measured = row.skipped.empty();
  auto measurement = [&](auto value) { return measured ? Json(value) : Json(nullptr); };
  Json j = case_json(c);
  j["threads"] = row.threads;
  j["ms"] = measurement(row.ms);
  j["runs"] = measurement(row.runs);
  j["gflops"] = measurement(row.gflops);
  j["sgemm_gflops"] = row.sgemm_gflops;
  j["ratio_to_sgemm"] = measurement(row.ratio_to_sgemm);
  j["ratio_spread"] = measurement(row.ratio_spread);
  j["wide"] = measurement(row.wide);
  j["peak_extra_bytes"] = measurement(row.peak_extra_bytes);
  if (c.decode) {
    j["gbps"] = row.gbps ? Json(*row.gbps) : Json(nullptr);
    j["copy_gbps"] = row.copy_gbps.value_or(0.0);
    j["ratio_to_copy"] = row.ratio_to_copy ? Json(*row.ratio_to_copy) : Json(nullptr);
  }
  if (!measured) j["skipped"] = row.skipped;
  return j;
}

nlohmann::ordered_json case_json(const BenchCase& c) {
  nlohmann::ordered_json j = {{"impl", c.implementation}, {"B", c.batch},  {"H", c.heads},
                              {"N", c.queries},           {"M", c.keys},   {"D", c.head_dim},
                              {"causal", c.causal},       {"pass", c.pass}};
  if (c.kv_heads != c.heads) j["H_kv"] = c.kv_heads;  // only when grouped: the peers' rows are multi-head
  return j;
}

BenchCase case_from_json(const nlohmann::json& j) {
  BenchCase c;
  c.implementation = j.at("impl").get<std::string>();
  c.batch = j.at("B").get<int64_t>();
  c.heads = c.kv_heads = j.at("H").get<int64_t>();
  if (j.contains("H_kv")) c.kv_heads = j.at("H_kv").get<int64_t>();
  c.queries = j.at("N").get<int64_t>();
  c.keys = j.at("M").get<int64_t>();
  c.head_dim = j.at("D").get<int64_t>();
  c.causal = j.at("causal").get<bool>();
  c.pass = j.at("pass").get<std::string>();
  c.decode = c.queries == 1;
  ATTEND_CHECK(c.implementation == "reference" || c.implementation == "fused", ValueError,
               "bench case: impl must be reference or fused; got '{}'", c.implementation);
  ATTEND_CHECK(c.pass == "forward" || c.pass == "forward+backward", ValueError,
               "bench case: pass must be forward or forward+backward; got '{}'", c.pass);
  ATTEND_CHECK(c.kv_heads >= 1 && c.heads % c.kv_heads == 0, ValueError, "bench case: H_kv must divide H; got {}",
               j.dump());
  for (const int64_t size : {c.batch, c.heads, c.queries, c.keys, c.head_dim}) {
    ATTEND_CHECK(size >= 1 && size <= 65536, ValueError, "bench case: B, H, N, M and D must be in [1, 65536]; got {}",
                 j.dump());
  }
  return c;
}

std::string text_header(const Roofline& r, const BenchOptions& o) {
  std::string text;
  text += fmt::format("attend bench attention: float32, B=1, H=8, H_kv={}, {} thread{}\n", o.kv_heads, r.threads,
                      r.threads == 1 ? "" : "s");
  text += fmt::format("roof: BLAS sgemm {}^3 on every thread {:.1f} GFLOP/s; memcpy {} MB {:.1f} GB/s (read + write)\n",
                      r.sgemm_size, r.sgemm_gflops, r.copy_bytes >> 20, r.copy_gbps);
  text += fmt::format(
      "arithmetic peaks (register loops, every thread): float32 FMA {:.1f} GFLOP/s; int8 {:.1f} GOP/s "
      "({}, quantized kernels)\n",
      2 * r.fma_gmacs, 2 * r.int8_gmacs, r.int8_gmacs > 0 ? "4 products a 32-bit lane" : "none");
  text += fmt::format(
      "ms: median of >= {} timed runs after a warm-up; GFLOP/s counts allowed (i, j) pairs only;\n"
      "extra MB: peak tensor memory beyond the inputs; decode GB/s: K and V bytes read / time;\n"
      "%sgemm (%copy for decode): median over {} rounds of (one roof run, a block of the row's runs);\n"
      "spread: (max - min) / median of the rounds' ratios, '!' above {:.0f}%: a noisy row, run it again\n\n",
      o.repeats, o.rounds, 100 * o.wide_spread);
  if (r.load_average >= 0.5) {
    text += fmt::format(
        "warning: load average {:.2f} before the run: other processes share the cores, so every\n"
        "figure below is low and noisy\n\n",
        r.load_average);
  }
  text += fmt::format("{:<9} {:>4} {:>5} {:>6} {:<6} {:<16} {:>10} {:>8} {:>6} {:>7} {:>9} {:>7} {:>6}\n", "impl", "D",
                      "N", "M", "causal", "pass", "ms", "GFLOP/s", "%sgemm", "spread", "extra MB", "GB/s", "%copy");
  return text;
}

std::string text_row(const BenchRow& row) {
  const BenchCase& c = row.shape;
  std::string text = fmt::format("{:<9} {:>4} {:>5} {:>6} {:<6} {:<16} ", c.implementation, c.head_dim, c.queries,
                                 c.keys, c.causal ? "yes" : "no", c.decode ? "decode" : c.pass);
  if (!row.skipped.empty()) return text + fmt::format("skipped: {}\n", row.skipped);
  text += fmt::format("{:>10.3f} {:>8.1f} {:>5.1f}% {:>5.1f}%{} {:>9.1f}", row.ms, row.gflops, 100 * row.ratio_to_sgemm,
                      100 * row.ratio_spread, row.wide ? '!' : ' ', row.peak_extra_bytes / 1048576.0);
  if (row.gbps) text += fmt::format(" {:>7.1f} {:>5.1f}%", *row.gbps, 100 * row.ratio_to_copy.value_or(0));
  return text + "\n";
}

}  // namespace attend::tools
