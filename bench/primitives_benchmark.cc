// Throughput of the fused attention kernels' vector primitives (src/kernels/attention_primitives.h)
// over row lengths 64..4096, the lengths of a key block or of a whole row of scores. Items are
// floats of the row: items/s over 8 (AVX2 lanes) is vectors per second.
//
//   build/bench/attend_primitives_benchmark [--benchmark_filter=dot]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <new>

#include "attend/core/random.h"
#include "kernels/attention_primitives.h"

namespace {

// A row of n floats aligned to 64 bytes, as the kernels' tiles are; values N(0, 1).
class Row {
 public:
  Row(int64_t n, uint64_t seed) : data_(new(std::align_val_t(64)) float[n]) {
    attend::Generator generator(seed);
    for (int64_t i = 0; i < n; ++i) data_[i] = static_cast<float>(generator.normal());
  }
  float* data() { return data_.get(); }

 private:
  struct AlignedDelete {
    void operator()(float* p) const { ::operator delete[](p, std::align_val_t(64)); }
  };
  std::unique_ptr<float[], AlignedDelete> data_;
};

void set_items(benchmark::State& state) { state.SetItemsProcessed(state.iterations() * state.range(0)); }

void scale_and_max(benchmark::State& state) {
  const int64_t n = state.range(0);
  Row x(n, 1);
  // Scale 1 leaves the row as it was, so every iteration sees the same values.
  for (auto _ : state) benchmark::DoNotOptimize(attend::kernels::scale_and_max(x.data(), n, 1.0f));
  set_items(state);
}

void exp_and_sum(benchmark::State& state) {
  const int64_t n = state.range(0);
  Row x(n, 2);
  // In place: after the first pass the row holds exp(x - 1), in (0, 1]; later passes map (0, 1]
  // into (e^-1, 1], so the values stay normal (no denormal slow path).
  for (auto _ : state) benchmark::DoNotOptimize(attend::kernels::exp_and_sum(x.data(), n, 1.0f));
  set_items(state);
}

void exp_scaled_minus(benchmark::State& state) {
  const int64_t n = state.range(0);
  Row s(n, 3), p(n, 4);
  for (auto _ : state) {
    attend::kernels::exp_scaled_minus(s.data(), p.data(), n, 0.125f, 2.0f);
    benchmark::ClobberMemory();
  }
  set_items(state);
}

void softmax_backward_row(benchmark::State& state) {
  const int64_t n = state.range(0);
  Row p(n, 5), dp(n, 6), ds(n, 7);
  for (auto _ : state) {
    attend::kernels::softmax_backward_row(p.data(), dp.data(), ds.data(), n, 0.5f);
    benchmark::ClobberMemory();
  }
  set_items(state);
}

void dot(benchmark::State& state) {
  const int64_t n = state.range(0);
  Row a(n, 8), b(n, 9);
  for (auto _ : state) benchmark::DoNotOptimize(attend::kernels::dot(a.data(), b.data(), n));
  set_items(state);
}

BENCHMARK(scale_and_max)->RangeMultiplier(2)->Range(64, 4096);
BENCHMARK(exp_and_sum)->RangeMultiplier(2)->Range(64, 4096);
BENCHMARK(exp_scaled_minus)->RangeMultiplier(2)->Range(64, 4096);
BENCHMARK(softmax_backward_row)->RangeMultiplier(2)->Range(64, 4096);
BENCHMARK(dot)->RangeMultiplier(2)->Range(64, 4096);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("simd_target", attend::kernels::simd_target_name());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
