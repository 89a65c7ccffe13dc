// Throughput of the fused attention kernels' vector primitives (src/kernels/attention_primitives.h)
// over row lengths 64..4096, the lengths of a key block or of a whole row of scores. Items are
// floats of the row: items/s over 8 (AVX2 lanes) is vectors per second.
//
// And of their tile products (src/kernels/tile_products.h) on the forward's tile, 128 queries by
// 256 keys, at head width D = 64 and 128: the benchmark's FLOP/s counter is 2 * 128 * 256 * D per
// call, to compare with one core's sgemm (attend bench attention prints it).
//
//   build/bench/attend_primitives_benchmark [--benchmark_filter=dot]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "attend/core/parallel.h"
#include "attend/core/random.h"
#include "attend/sampling/sampler.h"
#include "kernels/attention_primitives.h"
#include "kernels/philox.h"
#include "kernels/quantized_activations.h"
#include "kernels/quantized_groups.h"
#include "kernels/tile_products.h"

namespace {

// A row of n floats aligned to 64 bytes, as the kernels' tiles are; values N(0, 1).
class Row {
 public:
  Row(int64_t n, uint64_t seed) : data_(new (std::align_val_t(64)) float[n]) {
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

constexpr int64_t kTileQueries = 128, kTileKeys = 256;

void set_tile_flops(benchmark::State& state, int64_t d) {
  state.counters["FLOP/s"] = benchmark::Counter(
      static_cast<double>(2 * kTileQueries * kTileKeys * d) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

// S (128, 256) = Q (128, D) K^T with K packed once, as the forward does per key tile.
void times_packed_transposed(benchmark::State& state) {
  const int64_t d = state.range(0);
  Row q(kTileQueries * d, 10), k(kTileKeys * d, 11), s(kTileQueries * kTileKeys, 12);
  Row packed(attend::kernels::packed_panels_size(kTileKeys, d), 13);
  attend::kernels::pack_panels(k.data(), d, kTileKeys, d, packed.data());
  for (auto _ : state) {
    attend::kernels::times_packed_transposed(q.data(), d, kTileQueries, packed.data(), 0, kTileKeys, d, s.data(),
                                             kTileKeys);
    benchmark::ClobberMemory();
  }
  set_tile_flops(state, d);
}

// O (128, D) += P (128, 256) V (256, D), as the forward does per key tile.
void accumulate_product(benchmark::State& state) {
  const int64_t d = state.range(0);
  Row p(kTileQueries * kTileKeys, 14), v(kTileKeys * d, 15), o(kTileQueries * d, 16);
  for (auto _ : state) {
    attend::kernels::accumulate_product(p.data(), kTileKeys, 1, kTileQueries, kTileKeys, v.data(), d, d, o.data(), d);
    benchmark::ClobberMemory();
  }
  set_tile_flops(state, d);
}

// philox_draws of n positions from a block boundary (dropout over a whole tensor), and of a row
// of n starting mid-block (a row of attention probabilities: position (i * n + 1)).
void philox_draws(benchmark::State& state) {
  const int64_t n = state.range(0);
  const bool mid_block = state.range(1) != 0;
  std::unique_ptr<uint32_t[]> draws(new uint32_t[n]);
  uint64_t first = mid_block ? 1 : 0;
  for (auto _ : state) {
    attend::kernels::philox_draws(42, 1, first, n, draws.get());
    benchmark::DoNotOptimize(draws.get());
    first += mid_block ? static_cast<uint64_t>(n) : 0;
  }
  set_items(state);
}

// pack_panels of one head's keys: n rows of D = 32 at the row stride of a (T, 3, H, D) projection
// with H = 12 (MiniLM's q, k, v), as the fused attention packs K per head and sequence.
void pack_panels(benchmark::State& state) {
  const int64_t n = state.range(0), d = 32, ldx = 3 * 12 * 32;
  Row x(n * ldx, 17), packed(attend::kernels::packed_panels_size(n, d), 18);
  for (auto _ : state) {
    attend::kernels::pack_panels(x.data(), ldx, n, d, packed.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n * d);
}

// The grouped quantized product (src/kernels/quantized_groups.h) of MiniLM's shapes on one
// thread's share: x (rows, in) quantized into tiles, W (out, in) in groups; items are
// multiply-adds (rows x out x in), to compare with the int8 roof `attend bench` prints.
// range(0): 0 Q8_0, 1 Q4_0, 2 Q4_1; range(1) rows; range(2) out; range(3) in.
void grouped_matmul(benchmark::State& state) {
  namespace k = attend::kernels;
  const auto format = static_cast<k::QuantFormat>(state.range(0));
  const int64_t rows = state.range(1), out = state.range(2), blocks = state.range(3) / 32;
  attend::ThreadCountGuard one(1);
  attend::Generator generator(23);
  const int64_t groups = k::row_groups(out);
  std::vector<uint8_t> codes(static_cast<size_t>(groups * blocks * k::group_block_bytes(format)));
  for (uint8_t& c : codes) c = static_cast<uint8_t>(generator.uniform_int(256));
  std::vector<uint16_t> scales(static_cast<size_t>(groups * blocks * k::kGroupRows), 0x2000), mins(scales);
  Row x(rows * blocks * 32, 24);
  std::vector<uint8_t> tiles(static_cast<size_t>(k::quantized_tiles_bytes(rows, blocks)));
  k::quantize_tiles(x.data(), rows, blocks, format, tiles.data());
  const k::GroupedWeightsView w{format, out, blocks, codes.data(), scales.data(), mins.data()};
  std::vector<float> y(static_cast<size_t>(rows * out));
  for (auto _ : state) {
    k::grouped_matmul(w, {format, rows, blocks, tiles.data()}, nullptr, k::OutputActivation::kNone, y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * rows * out * blocks * 32);
}

// Activations quantized into tiles: items are values.
void quantize_tiles(benchmark::State& state) {
  const int64_t rows = state.range(0), blocks = state.range(1) / 32;
  attend::ThreadCountGuard one(1);
  Row x(rows * blocks * 32, 25);
  std::vector<uint8_t> tiles(static_cast<size_t>(attend::kernels::quantized_tiles_bytes(rows, blocks)));
  for (auto _ : state) {
    attend::kernels::quantize_tiles(x.data(), rows, blocks, attend::kernels::QuantFormat::q8_0, tiles.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * rows * blocks * 32);
}

// One decode step's sampler over SmolLM2's vocabulary (49,152 logits, N(0, 3^2)): temperature
// 0.8 alone (every token a candidate, as an OpenAI request without top_p), with top-p 0.95 and
// with top-k 40; range(0) = 0, 1, 2 picks.
void sample_token(benchmark::State& state) {
  constexpr int64_t kVocabulary = 49152;
  Row logits(kVocabulary, 19);
  for (int64_t i = 0; i < kVocabulary; ++i) logits.data()[i] *= 3.0f;
  attend::sampling::SamplingOptions options;
  options.temperature = 0.8f;
  if (state.range(0) == 1) options.top_p = 0.95f;
  if (state.range(0) == 2) options.top_k = 40;
  attend::sampling::SamplingScratch scratch;
  const std::span<const float> row(logits.data(), kVocabulary);
  uint64_t step = 0;
  for (auto _ : state) benchmark::DoNotOptimize(attend::sampling::sample_token(row, {}, options, step++, scratch));
  state.SetItemsProcessed(state.iterations() * kVocabulary);
}

BENCHMARK(sample_token)->Arg(0)->Arg(1)->Arg(2);
BENCHMARK(grouped_matmul)
    ->ArgsProduct({{0, 1, 2}, {8, 800}, {1536}, {384}})
    ->Args({0, 800, 384, 1536})
    ->Args({0, 4096, 1536, 384})
    ->Args({0, 4096, 384, 1536});
BENCHMARK(quantize_tiles)->Args({800, 384})->Args({800, 1536});
BENCHMARK(pack_panels)->Arg(35)->Arg(128);
BENCHMARK(philox_draws)->ArgsProduct({{35, 128, 4096}, {0, 1}});
BENCHMARK(scale_and_max)->RangeMultiplier(2)->Range(64, 4096);
BENCHMARK(exp_and_sum)->RangeMultiplier(2)->Range(64, 4096);
BENCHMARK(exp_scaled_minus)->RangeMultiplier(2)->Range(64, 4096);
BENCHMARK(softmax_backward_row)->RangeMultiplier(2)->Range(64, 4096);
BENCHMARK(dot)->RangeMultiplier(2)->Range(64, 4096);
BENCHMARK(times_packed_transposed)->Arg(64)->Arg(128);
BENCHMARK(accumulate_product)->Arg(64)->Arg(128);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("simd_target", attend::kernels::simd_target_name());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
