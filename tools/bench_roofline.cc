// The compute and memory roofs of `attend bench attention` (bench.h): measured once for the
// header, then one run at a time beside every row (RoofProbe).
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "attend/core/autograd.h"
#include "attend/core/parallel.h"
#include "attend/core/random.h"
#include "attend/ops/matmul.h"
#include "bench.h"

namespace attend::tools {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kGiga = 1e9;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double sgemm_flops(int64_t size) { return 2.0 * static_cast<double>(size) * size * size; }

}  // namespace

// a, b: (size, size) in [-1, 1) so that nothing overflows or goes denormal; c: their product.
// source, target: the memcpy buffers, written once so that page faults stay out of the timing.
struct RoofProbe::Buffers {
  int64_t size = 0;
  std::vector<float> a, b, c;
  Tensor<float> tensor_a, tensor_b;  // (size, size): a and b for attend::matmul
  int64_t copy_bytes = 0;
  std::unique_ptr<char[]> source, target;

  Buffers(int64_t sgemm_size, int64_t bytes) : size(sgemm_size), a(size * size), b(size * size), c(size * size) {
    Generator generator(1);
    for (auto* m : {&a, &b}) {
      for (float& x : *m) x = static_cast<float>(2 * generator.uniform() - 1);
    }
    tensor_a = Tensor<float>::from_vector({size, size}, a);
    tensor_b = Tensor<float>::from_vector({size, size}, b);
    if (bytes > 0) {
      copy_bytes = bytes;
      source.reset(new char[bytes]);
      target.reset(new char[bytes]);
      std::memset(source.get(), 1, bytes);
      std::memset(target.get(), 0, bytes);
    }
  }

  // attend links Debian's single-threaded BLIS and runs it on its own threads over a fixed grid
  // of tiles (see CMakeLists.txt), so one cblas_sgemm call uses one core; attend::matmul spreads
  // the same product over the threads.
  double time_sgemm(bool by_matmul) {
    const auto start = Clock::now();
    if (by_matmul) {
      NoGradGuard no_grad;
      matmul(tensor_a, tensor_b);
    } else {
      const int n = static_cast<int>(size);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(),
                  n);
    }
    return seconds_since(start);
  }

  // One contiguous chunk per thread (`threads` of them at most), each a multiple of a cache line.
  double time_copy(int64_t threads) {
    const int64_t chunks = std::min<int64_t>(threads, num_threads());
    const int64_t chunk = (copy_bytes / chunks + 63) / 64 * 64;
    const auto start = Clock::now();
    parallel_for(chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const int64_t first = i * chunk, last = std::min(copy_bytes, first + chunk);
        if (first < last) std::memcpy(target.get() + first, source.get() + first, last - first);
      }
    });
    return seconds_since(start);
  }

  double best_copy_gbps(int64_t threads, int runs) {
    time_copy(threads);
    double best = 1e300;
    for (int r = 0; r < runs; ++r) best = std::min(best, time_copy(threads));
    return 2.0 * static_cast<double>(copy_bytes) / best / kGiga;
  }
};

Roofline measure_roofline(const BenchOptions& options) {
  Roofline roofline;
  double load[1] = {0};
  if (getloadavg(load, 1) == 1) roofline.load_average = load[0];
  roofline.threads = num_threads();
  roofline.sgemm_size = options.sgemm_size;
  roofline.copy_bytes = options.copy_megabytes << 20;
  RoofProbe::Buffers buffers(options.sgemm_size, roofline.copy_bytes);
  // The roof is the faster of one cblas_sgemm call and attend::matmul over the threads: best of 5
  // after a warm-up (page faults) each.
  double best[2] = {1e300, 1e300};
  for (const bool by_matmul : {false, true}) {
    buffers.time_sgemm(by_matmul);
    for (int r = 0; r < 5; ++r) best[by_matmul] = std::min(best[by_matmul], buffers.time_sgemm(by_matmul));
  }
  roofline.sgemm_by_matmul = best[1] < best[0];
  roofline.sgemm_gflops = sgemm_flops(options.sgemm_size) / std::min(best[0], best[1]) / kGiga;
  // The best of one thread and all of them: on some machines (this one's two vCPUs among them)
  // a single memcpy streams faster than two competing ones, and the roof is what is achievable.
  roofline.copy_gbps = buffers.best_copy_gbps(1, 5);
  const double all_threads = buffers.best_copy_gbps(roofline.threads, 5);
  roofline.copy_threads = all_threads > roofline.copy_gbps ? roofline.threads : 1;
  roofline.copy_gbps = std::max(roofline.copy_gbps, all_threads);
  // The arithmetic peaks, best of 3 (about 0.1 s each on this machine).
  for (int r = 0; r < 3; ++r) {
    roofline.int8_gmacs = std::max(roofline.int8_gmacs, int8_peak_macs_per_second(20'000'000) / kGiga);
    roofline.fma_gmacs = std::max(roofline.fma_gmacs, float_peak_macs_per_second(20'000'000) / kGiga);
  }
  return roofline;
}

RoofProbe::RoofProbe(const Roofline& roofline)
    : roofline_(roofline), buffers_(std::make_unique<Buffers>(roofline.sgemm_size, roofline.copy_bytes)) {
  buffers_->time_sgemm(roofline_.sgemm_by_matmul);  // page faults
}

RoofProbe::~RoofProbe() = default;

double RoofProbe::sgemm_gflops() {
  return sgemm_flops(roofline_.sgemm_size) / buffers_->time_sgemm(roofline_.sgemm_by_matmul) / kGiga;
}

double RoofProbe::copy_gbps() {
  return 2.0 * static_cast<double>(buffers_->copy_bytes) / buffers_->time_copy(roofline_.copy_threads) / kGiga;
}

}  // namespace attend::tools
