// Compiled once per SIMD target by Highway's foreach_target; quantize_tiles dispatches at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/quantized_activations.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "attend/core/parallel.h"
#include "kernels/quantized_activations.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {

// Blocks are taken kChunk at a time, so that their scales' divisions run as vector divisions
// (the same correctly rounded quotients as one at a time) and the blocks' horizontal
// reductions overlap.
constexpr int64_t kChunk = 16;

// The max |x| of each of `count` <= kChunk blocks of 32 at v, and whether each is finite.
HWY_INLINE void BlockMaxima(const float* HWY_RESTRICT v, int64_t count, float* HWY_RESTRICT maxima,
                            bool* HWY_RESTRICT finite) {
  namespace hn = hwy::HWY_NAMESPACE;
  const hn::ScalableTag<float> df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));  // divides 32
  for (int64_t k = 0; k < count; ++k) {
    auto max = hn::Zero(df);
    bool all_finite = true;
    for (int64_t i = 0; i < kQuantBlock; i += lanes) {
      const auto value = hn::LoadU(df, v + k * kQuantBlock + i);
      max = hn::Max(max, hn::Abs(value));
      all_finite = all_finite && hn::AllTrue(df, hn::IsFinite(value));
    }
    maxima[k] = hn::GetLane(hn::MaxOfLanes(df, max));
    finite[k] = all_finite;
  }
}

// s = a / 127 and 1 / s (0 when s = 0) for kChunk maxima a, in vectors.
HWY_INLINE void ScalesOf(const float* HWY_RESTRICT maxima, float* HWY_RESTRICT scales, float* HWY_RESTRICT inverses) {
  namespace hn = hwy::HWY_NAMESPACE;
  const hn::ScalableTag<float> df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  for (int64_t k = 0; k < kChunk; k += lanes) {
    const auto scale = hn::Div(hn::LoadU(df, maxima + k), hn::Set(df, 127.0f));
    const auto inverse = hn::Div(hn::Set(df, 1.0f), scale);
    hn::StoreU(scale, df, scales + k);
    hn::StoreU(hn::IfThenZeroElse(hn::Eq(scale, hn::Zero(df)), inverse), df, inverses + k);
  }
}

// One block's codes q_i = round_half_even(x_i * inverse) and their sum. Every lane computes what
// the scalar form would: the same bits on every target.
HWY_INLINE int32_t CodesOf(const float* HWY_RESTRICT v, float inverse, int8_t* HWY_RESTRICT codes) {
  namespace hn = hwy::HWY_NAMESPACE;
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  auto sums = hn::Zero(di);
  for (int64_t i = 0; i < kQuantBlock; i += lanes) {
    const auto q = hn::NearestInt(hn::Mul(hn::LoadU(df, v + i), hn::Set(df, inverse)));
    sums = hn::Add(sums, q);
    hn::StoreU(hn::DemoteTo(d8, q), d8, codes + i);
  }
  return hn::GetLane(hn::SumOfLanes(di, sums));
}

// Row `row`'s block j entry in the tiles (quantized_activations.h): codes, start, scale, scaled_sum.
HWY_INLINE void StoreEntry(uint8_t* HWY_RESTRICT tiles, const TilePlace& place, const int8_t* codes, int32_t start,
                           float scale, float scaled_sum) {
  uint8_t* tile = tiles + place.offset;
  for (int64_t c = 0; c < kQuantBlock / 4; ++c) std::memcpy(tile + 4 * (c * place.n + place.r), codes + 4 * c, 4);
  std::memcpy(tile + 4 * (8 * place.n + place.r), &start, 4);
  std::memcpy(tile + 4 * (9 * place.n + place.r), &scale, 4);
  std::memcpy(tile + 4 * (10 * place.n + place.r), &scaled_sum, 4);
}

// Rows [begin, end) of x into their tile slots. A block holding NaN or an infinity: codes 0,
// scale NaN, so that its products stay NaN.
void QuantizeTileRows(const float* HWY_RESTRICT x, int64_t rows, int64_t blocks, QuantFormat weights,
                      uint8_t* HWY_RESTRICT tiles, int64_t begin, int64_t end) {
  for (int64_t row = begin; row < end; ++row) {
    for (int64_t first = 0; first < blocks; first += kChunk) {
      const int64_t count = std::min(kChunk, blocks - first);
      const float* v = x + (row * blocks + first) * kQuantBlock;
      alignas(64) float maxima[kChunk] = {}, scales[kChunk], inverses[kChunk];
      bool finite[kChunk];
      BlockMaxima(v, count, maxima, finite);
      ScalesOf(maxima, scales, inverses);
      for (int64_t k = 0; k < count; ++k) {
        alignas(64) int8_t codes[kQuantBlock] = {};
        const int32_t sum = finite[k] ? CodesOf(v + k * kQuantBlock, inverses[k], codes) : 0;
        const float scale = finite[k] ? scales[k] : NAN;
        StoreEntry(tiles, tile_place(row, rows, blocks, first + k), codes, -code_offset(weights) * sum, scale,
                   scale * static_cast<float>(sum));
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(QuantizeTileRows);

void quantize_tiles(const float* x, int64_t rows, int64_t blocks, QuantFormat weights, uint8_t* tiles) {
  // Chunks of at least ~16 KB of activations, so that a small batch stays on one thread.
  const int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, blocks * kQuantBlock));
  parallel_for(rows, grain, [&](int64_t begin, int64_t end) {
    HWY_DYNAMIC_DISPATCH(QuantizeTileRows)(x, rows, blocks, weights, tiles, begin, end);
  });
}

TileEntry tile_entry(const QuantizedTilesView& x, int64_t row, int64_t block) {
  const TilePlace place = tile_place(row, x.rows, x.blocks, block);
  const uint8_t* tile = x.data + place.offset;
  TileEntry entry;
  for (int64_t c = 0; c < kQuantBlock / 4; ++c) std::memcpy(entry.codes + 4 * c, tile + 4 * (c * place.n + place.r), 4);
  std::memcpy(&entry.start, tile + 4 * (8 * place.n + place.r), 4);
  std::memcpy(&entry.scale, tile + 4 * (9 * place.n + place.r), 4);
  std::memcpy(&entry.scaled_sum, tile + 4 * (10 * place.n + place.r), 4);
  return entry;
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
