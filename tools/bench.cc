#include "bench.h"

#include <cblas.h>

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

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

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

// ---- the roofline ----

double measure_sgemm_gflops(int64_t size, int threads, int runs) {
  const int n = static_cast<int>(size);
  // Values in [-1, 1) so that nothing overflows or goes denormal.
  std::vector<float> a(size * size), b(size * size), c(size * size);
  Generator generator(1);
  for (auto* m : {&a, &b}) {
    for (float& x : *m) x = static_cast<float>(2 * generator.uniform() - 1);
  }
  auto sgemm = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
  };
  // attend links Debian's single-threaded BLIS and runs it on its own threads over a fixed
  // grid of tiles (see CMakeLists.txt), so one cblas_sgemm call uses one core. The roof is the
  // faster of that call and the same sgemm spread over `threads` threads by attend::matmul.
  sgemm();  // warm-up: page faults
  double best_call = 1e300;
  for (int r = 0; r < runs; ++r) {
    const auto start = Clock::now();
    sgemm();
    best_call = std::min(best_call, seconds_since(start));
  }
  double best_tiled = 1e300;
  {
    ThreadCountGuard guard(threads);
    NoGradGuard no_grad;
    const Tensor<float> ta = Tensor<float>::from_vector({size, size}, a), tb = Tensor<float>::from_vector({size, size}, b);
    matmul(ta, tb);  // warm-up
    for (int r = 0; r < runs; ++r) {
      const auto start = Clock::now();
      matmul(ta, tb);
      best_tiled = std::min(best_tiled, seconds_since(start));
    }
  }
  return 2.0 * static_cast<double>(size) * size * size / std::min(best_call, best_tiled) / kGiga;
}

double measure_copy_gbps(int64_t bytes, int runs) {
  // Allocated raw, then written once so that page faults stay out of the timing.
  std::unique_ptr<char[]> source(new char[bytes]), target(new char[bytes]);
  std::memset(source.get(), 1, bytes);
  std::memset(target.get(), 0, bytes);
  // One contiguous chunk per thread, each a multiple of a cache line.
  const int64_t chunks = num_threads();
  const int64_t chunk = (bytes / chunks + 63) / 64 * 64;
  auto copy = [&] {
    parallel_for(chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        const int64_t first = c * chunk, last = std::min(bytes, first + chunk);
        if (first < last) std::memcpy(target.get() + first, source.get() + first, last - first);
      }
    });
  };
  copy();
  double best = 1e300;
  for (int r = 0; r < runs; ++r) {
    const auto start = Clock::now();
    copy();
    best = std::min(best, seconds_since(start));
  }
  return 2.0 * static_cast<double>(bytes) / best / kGiga;
}

Roofline measure_roofline(const BenchOptions& options) {
  Roofline roofline;
  double load[1] = {0};
  if (getloadavg(load, 1) == 1) roofline.load_average = load[0];
  roofline.threads = num_threads();
  roofline.sgemm_size = options.sgemm_size;
  roofline.sgemm_gflops = measure_sgemm_gflops(options.sgemm_size, roofline.threads, 5);
  roofline.copy_bytes = options.copy_megabytes << 20;
  // The best of one thread and all of them: on some machines (this one's two vCPUs among them)
  // a single memcpy streams faster than two competing ones, and the roof is what is achievable.
  {
    ThreadCountGuard one(1);
    roofline.copy_gbps = measure_copy_gbps(roofline.copy_bytes, 5);
  }
  roofline.copy_gbps = std::max(roofline.copy_gbps, measure_copy_gbps(roofline.copy_bytes, 5));
  return roofline;
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

namespace {

struct Inputs {
  Tensor<float> q, k, v;   // (B, H, N, D), (B, H_kv, M, D), (B, H_kv, M, D)
  Tensor<float> d_output;  // (B, H, N, D): the fixed gradient of the output
};

Inputs make_inputs(const BenchCase& c, uint64_t seed) {
  Generator generator(seed);
  Inputs in;
  in.q = Tensor<float>::randn({c.batch, c.heads, c.queries, c.head_dim}, generator);
  in.k = Tensor<float>::randn({c.batch, c.kv_heads, c.keys, c.head_dim}, generator);
  in.v = Tensor<float>::randn({c.batch, c.kv_heads, c.keys, c.head_dim}, generator);
  if (c.pass != "forward") in.d_output = Tensor<float>::randn({c.batch, c.heads, c.queries, c.head_dim}, generator);
  return in;
}

struct RunResult {
  double seconds = 0;
  int64_t peak_extra_bytes = 0;
};

// One run of the row; everything it allocates is freed before it returns (that is timed too).
RunResult run_once(const BenchCase& c, const Inputs& in, const AttentionOptions<float>& options) {
  const int64_t before = memory_stats().live_bytes;
  reset_peak_memory();
  const auto start = Clock::now();
  if (c.pass == "forward") {
    NoGradGuard no_grad;
    const Tensor<float> output = scaled_dot_product_attention(in.q, in.k, in.v, options).output;
  } else {
    // Fresh leaves on the same data, so that each run starts without gradients.
    Tensor<float> q = in.q.detach(), k = in.k.detach(), v = in.v.detach();
    q.set_requires_grad();
    k.set_requires_grad();
    v.set_requires_grad();
    const Tensor<float> output = scaled_dot_product_attention(q, k, v, options).output;
    // The gradient of sum(output * d_output).
    output.backward(in.d_output);
  }
  RunResult result;
  result.seconds = seconds_since(start);
  result.peak_extra_bytes = memory_stats().peak_bytes - before;
  return result;
}

}  // namespace

BenchRow run_case(const BenchCase& c, const Roofline& roofline, const BenchOptions& options) {
  BenchRow row;
  row.shape = c;
  row.threads = roofline.threads;
  row.flops = attention_flops(c);
  row.sgemm_gflops = roofline.sgemm_gflops;
  if (c.decode) row.copy_gbps = roofline.copy_gbps;
  auto skipped = [base = row](std::string reason) {
    BenchRow skipped_row = base;
    skipped_row.skipped = std::move(reason);
    return skipped_row;
  };

  if (c.implementation == "reference") {
    const double estimate = estimated_reference_bytes(c);
    if (estimate > options.reference_memory_limit_gb * kGiga) {
      return skipped(fmt::format("reference needs ~{:.1f} GB > limit {:g} GB (--reference-memory-gb)",
                                 estimate / kGiga, options.reference_memory_limit_gb));
    }
  }

  AttentionOptions<float> attention;
  attention.causal = c.causal;
  attention.implementation =
      c.implementation == "fused" ? AttentionImplementation::kFused : AttentionImplementation::kReference;
  try {
    const Inputs inputs = make_inputs(c, options.seed);
    run_once(c, inputs, attention);  // warm-up
    std::vector<double> seconds;
    double total = 0;
    while (static_cast<int>(seconds.size()) < options.repeats ||
           (total < options.min_seconds && seconds.size() < 1000)) {
      const RunResult run = run_once(c, inputs, attention);
      seconds.push_back(run.seconds);
      total += run.seconds;
      row.peak_extra_bytes = std::max(row.peak_extra_bytes, run.peak_extra_bytes);
    }
    row.runs = static_cast<int>(seconds.size());
    const double time = median(seconds);
    row.ms = time * 1e3;
    row.gflops = row.flops / time / kGiga;
    row.ratio_to_sgemm = row.gflops / row.sgemm_gflops;
    if (c.decode) row.gbps = decode_bytes(c) / time / kGiga;
  } catch (const Error& e) {
    if (c.implementation != "fused") throw;
    return skipped(fmt::format("unsupported: {}", e.what()));
  } catch (const std::bad_alloc&) {
    return skipped("out of memory");
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
  std::vector<BenchRow> rows;
  for (const BenchCase& c : bench_cases(options)) {
    rows.push_back(run_case(c, roofline, options));
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
  Json j = {
      {"impl", c.implementation},
      {"B", c.batch},
      {"H", c.heads},
      {"N", c.queries},
      {"M", c.keys},
      {"D", c.head_dim},
      {"causal", c.causal},
      {"pass", c.pass},
      {"threads", row.threads},
      {"ms", measurement(row.ms)},
      {"gflops", measurement(row.gflops)},
      {"sgemm_gflops", row.sgemm_gflops},
      {"ratio_to_sgemm", measurement(row.ratio_to_sgemm)},
      {"peak_extra_bytes", measurement(row.peak_extra_bytes)},
  };
  if (c.decode) {
    j["gbps"] = row.gbps ? Json(*row.gbps) : Json(nullptr);
    j["copy_gbps"] = row.copy_gbps.value_or(0.0);
  }
  if (!measured) j["skipped"] = row.skipped;
  return j;
}

std::string text_header(const Roofline& r, const BenchOptions& o) {
  std::string text;
  text += fmt::format("attend bench attention: float32, B=1, H=8, {} thread{}\n", r.threads, r.threads == 1 ? "" : "s");
  text += fmt::format("roof: BLAS sgemm {}^3 on every thread {:.1f} GFLOP/s; memcpy {} MB {:.1f} GB/s (read + write)\n",
                      r.sgemm_size, r.sgemm_gflops, r.copy_bytes >> 20, r.copy_gbps);
  text += fmt::format(
      "ms: median of >= {} timed runs after a warm-up; GFLOP/s counts allowed (i, j) pairs only;\n"
      "extra MB: peak tensor memory beyond the inputs; decode GB/s: K and V bytes read / time\n\n",
      o.repeats);
  if (r.load_average >= 0.5) {
    text += fmt::format("warning: load average {:.2f} before the run: other processes share the cores, so every\n"
                        "figure below is low and noisy\n\n",
                        r.load_average);
  }
  text += fmt::format("{:<9} {:>4} {:>5} {:>6} {:<6} {:<16} {:>10} {:>8} {:>6} {:>9} {:>7} {:>6}\n", "impl", "D", "N",
                      "M", "causal", "pass", "ms", "GFLOP/s", "%sgemm", "extra MB", "GB/s", "%copy");
  return text;
}

std::string text_row(const BenchRow& row) {
  const BenchCase& c = row.shape;
  std::string text = fmt::format("{:<9} {:>4} {:>5} {:>6} {:<6} {:<16} ", c.implementation, c.head_dim, c.queries,
                                 c.keys, c.causal ? "yes" : "no", c.decode ? "decode" : c.pass);
  if (!row.skipped.empty()) return text + fmt::format("skipped: {}\n", row.skipped);
  text += fmt::format("{:>10.3f} {:>8.1f} {:>5.1f}% {:>9.1f}", row.ms, row.gflops, 100 * row.ratio_to_sgemm,
                      row.peak_extra_bytes / 1048576.0);
  if (row.gbps) text += fmt::format(" {:>7.1f} {:>5.1f}%", *row.gbps, 100 * *row.gbps / row.copy_gbps.value_or(1));
  return text + "\n";
}

}  // namespace attend::tools
