// Compiled once per SIMD target by Highway's foreach_target; quantize_tiles dispatches at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/quantized_activations.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>

#include "attend/core/parallel.h"
#include "kernels/quantized_activations.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {

// Blocks are taken kChunk at a time, so that their scales' divisions run as vector divisions
// (the same correctly rounded quotients as one at a time) and, on AVX-512, their horizontal
// reductions run as one transposed reduction (below).
constexpr int64_t kChunk = 16;

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// Lane k of the result: the 16 lanes of a[k] combined (max, or integer sum, as floats' bits), all
// 16 vectors at once: rounds that pair vectors and fold their halves, 256-bit, 128-bit, 64-bit,
// then 32-bit, 45 instructions where 16 separate reductions took ~130. Max and integer sums are
// exact in any order: the same values as one vector at a time.
//   after round 1: b_k = [a_2k folded to 8 | a_2k+1 folded to 8]
//   after round 2: c_k = quarters [a_4k | a_4k+1 | a_4k+2 | a_4k+3], 4 values each
//   after round 3: d_k, quarter i = [a_8k+i: 2 values | a_8k+4+i: 2 values]
//   after round 4: e, quarter i = [a_i | a_4+i | a_8+i | a_12+i]; a permutation puts a_k at lane k.
template <class Combine>
HWY_INLINE __m512 Transposed16(const __m512 (&a)[16], Combine combine) {
  __m512 b[8], c[4], d[2];
  for (int k = 0; k < 8; ++k) {
    b[k] =
        combine(_mm512_shuffle_f32x4(a[2 * k], a[2 * k + 1], 0x44), _mm512_shuffle_f32x4(a[2 * k], a[2 * k + 1], 0xEE));
  }
  for (int k = 0; k < 4; ++k) {
    c[k] =
        combine(_mm512_shuffle_f32x4(b[2 * k], b[2 * k + 1], 0x88), _mm512_shuffle_f32x4(b[2 * k], b[2 * k + 1], 0xDD));
  }
  for (int k = 0; k < 2; ++k) {
    d[k] = combine(_mm512_shuffle_ps(c[2 * k], c[2 * k + 1], 0x44), _mm512_shuffle_ps(c[2 * k], c[2 * k + 1], 0xEE));
  }
  const __m512 e = combine(_mm512_shuffle_ps(d[0], d[1], 0x88), _mm512_shuffle_ps(d[0], d[1], 0xDD));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_ps(order, e);
}
#endif

// The max |x| of each of `count` <= kChunk blocks of 32 at v; false when a value is NaN or infinite.
HWY_INLINE bool BlockMaxima(const float* HWY_RESTRICT v, int64_t count, float* HWY_RESTRICT maxima) {
  namespace hn = hwy::HWY_NAMESPACE;
  const hn::ScalableTag<float> df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));  // divides 32
  bool finite = true;
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  if (count == kChunk) {
    __m512 m[kChunk];
    __mmask16 all = 0xFFFF;
    for (int k = 0; k < kChunk; ++k) {
      const __m512 low = _mm512_loadu_ps(v + k * kQuantBlock), high = _mm512_loadu_ps(v + k * kQuantBlock + 16);
      all &=
          static_cast<__mmask16>(hn::IsFinite(hn::Vec512<float>{low}).raw & hn::IsFinite(hn::Vec512<float>{high}).raw);
      m[k] = _mm512_max_ps(_mm512_abs_ps(low), _mm512_abs_ps(high));
    }
    _mm512_store_ps(maxima, Transposed16(m, [](__m512 p, __m512 q) { return _mm512_max_ps(p, q); }));
    return all == 0xFFFF;
  }
#endif
  for (int64_t k = 0; k < count; ++k) {
    auto max = hn::Zero(df);
    for (int64_t i = 0; i < kQuantBlock; i += lanes) {
      const auto value = hn::LoadU(df, v + k * kQuantBlock + i);
      max = hn::Max(max, hn::Abs(value));
      finite = finite && hn::AllTrue(df, hn::IsFinite(value));
    }
    maxima[k] = hn::GetLane(hn::MaxOfLanes(df, max));
  }
  return finite;
}

// s = a / 127 and 1 / s (0 when s = 0 or 1 / s overflows) for kChunk maxima a, in vectors.
HWY_INLINE void ScalesOf(const float* HWY_RESTRICT maxima, float* HWY_RESTRICT scales, float* HWY_RESTRICT inverses) {
  namespace hn = hwy::HWY_NAMESPACE;
  const hn::ScalableTag<float> df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  for (int64_t k = 0; k < kChunk; k += lanes) {
    const auto scale = hn::Div(hn::LoadU(df, maxima + k), hn::Set(df, 127.0f));
    const auto inverse = hn::Div(hn::Set(df, 1.0f), scale);
    hn::StoreU(scale, df, scales + k);
    // s = 0, or s so small (below ~2^-126: max |x| < ~4e-37) that 1 / s overflows: codes 0, as for s = 0
    hn::StoreU(hn::IfThenZeroElse(hn::Or(hn::Eq(scale, hn::Zero(df)), hn::Not(hn::IsFinite(inverse))), inverse), df,
               inverses + k);
  }
}

// Codes q_i = round_half_even(x_i * inverse_k) of `count` <= kChunk blocks at v, and their sums.
// Every lane computes what the scalar form would: the same bits on every target.
HWY_INLINE void BlockCodes(const float* HWY_RESTRICT v, int64_t count, const float* HWY_RESTRICT inverses,
                           int8_t (*HWY_RESTRICT codes)[kQuantBlock], int32_t* HWY_RESTRICT sums) {
  namespace hn = hwy::HWY_NAMESPACE;
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  if (count == kChunk) {
    __m512 partial[kChunk];  // each block's two vectors of codes added, as int32 bits
    for (int k = 0; k < kChunk; ++k) {
      const auto inverse = hn::Set(df, inverses[k]);
      const auto low = hn::NearestInt(hn::Mul(hn::LoadU(df, v + k * kQuantBlock), inverse));
      const auto high = hn::NearestInt(hn::Mul(hn::LoadU(df, v + k * kQuantBlock + 16), inverse));
      // vpmovsdb: int32 to int8 with saturation (DemoteTo's result, in one instruction)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(codes[k]), _mm512_cvtsepi32_epi8(low.raw));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(codes[k] + 16), _mm512_cvtsepi32_epi8(high.raw));
      partial[k] = _mm512_castsi512_ps(hn::Add(low, high).raw);
    }
    const __m512 total = Transposed16(partial, [](__m512 p, __m512 q) {
      return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(p), _mm512_castps_si512(q)));
    });
    _mm512_storeu_si512(sums, _mm512_castps_si512(total));
    return;
  }
#endif
  for (int64_t k = 0; k < count; ++k) {
    auto sum = hn::Zero(di);
    for (int64_t i = 0; i < kQuantBlock; i += lanes) {
      const auto q = hn::NearestInt(hn::Mul(hn::LoadU(df, v + k * kQuantBlock + i), hn::Set(df, inverses[k])));
      sum = hn::Add(sum, q);
      hn::StoreU(hn::DemoteTo(d8, q), d8, codes[k] + i);
    }
    sums[k] = hn::GetLane(hn::SumOfLanes(di, sum));
  }
}

// Row `row`'s block j entry in the tiles (quantized_activations.h): codes, start, scale, scaled_sum.
HWY_INLINE void StoreEntry(uint8_t* HWY_RESTRICT tiles, const TilePlace& place, const int8_t* codes, int32_t start,
                           float scale, float scaled_sum) {
  uint8_t* tile = tiles + place.offset;
  std::memcpy(tile + kQuantBlock * place.r, codes, kQuantBlock);
  std::memcpy(tile + 4 * (8 * place.n + place.r), &start, 4);
  std::memcpy(tile + 4 * (9 * place.n + place.r), &scale, 4);
  std::memcpy(tile + 4 * (10 * place.n + place.r), &scaled_sum, 4);
}

// Blocks [begin, end) of x (block row * blocks + j is row `row`'s block j: x's rows are contiguous)
// into their tile slots, kChunk at a time. A block holding NaN or an infinity: codes 0, scale
// NaN, so that its products stay NaN (such a chunk goes one block at a time).
void QuantizeBlocks(const float* HWY_RESTRICT x, int64_t rows, int64_t blocks, QuantFormat weights,
                    uint8_t* HWY_RESTRICT tiles, int64_t begin, int64_t end) {
  for (int64_t first = begin; first < end; first += kChunk) {
    const int64_t count = std::min(kChunk, end - first);
    const float* v = x + first * kQuantBlock;
    alignas(64) float maxima[kChunk] = {}, scales[kChunk], inverses[kChunk];
    alignas(64) int8_t codes[kChunk][kQuantBlock];
    alignas(64) int32_t sums[kChunk];
    bool finite[kChunk];
    if (BlockMaxima(v, count, maxima)) {
      std::fill_n(finite, kChunk, true);
    } else {
      for (int64_t k = 0; k < count; ++k) finite[k] = BlockMaxima(v + k * kQuantBlock, 1, maxima + k);
    }
    ScalesOf(maxima, scales, inverses);
    BlockCodes(v, count, inverses, codes, sums);
    int64_t row = first / blocks, j = first % blocks;
    for (int64_t k = 0; k < count; ++k, j = j + 1 == blocks ? 0 : j + 1, row += j == 0 ? 1 : 0) {
      if (!finite[k]) {
        std::fill_n(codes[k], kQuantBlock, int8_t{0});
        scales[k] = NAN, sums[k] = 0;
      }
      StoreEntry(tiles, tile_place(row, rows, blocks, j), codes[k], -code_offset(weights) * sums[k], scales[k],
                 scales[k] * static_cast<float>(sums[k]));
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(QuantizeBlocks);

void quantize_tiles(const float* x, int64_t rows, int64_t blocks, QuantFormat weights, uint8_t* tiles) {
  // Chunks of at least 128 blocks (~16 KB of activations), so that a small batch stays on one thread.
  parallel_for(rows * blocks, 128, [&](int64_t begin, int64_t end) {
    HWY_DYNAMIC_DISPATCH(QuantizeBlocks)(x, rows, blocks, weights, tiles, begin, end);
  });
}

TileEntry tile_entry(const QuantizedTilesView& x, int64_t row, int64_t block) {
  const TilePlace place = tile_place(row, x.rows, x.blocks, block);
  const uint8_t* tile = x.data + place.offset;
  TileEntry entry;
  std::memcpy(entry.codes, tile + kQuantBlock * place.r, kQuantBlock);
  std::memcpy(&entry.start, tile + 4 * (8 * place.n + place.r), 4);
  std::memcpy(&entry.scale, tile + 4 * (9 * place.n + place.r), 4);
  std::memcpy(&entry.scaled_sum, tile + 4 * (10 * place.n + place.r), 4);
  return entry;
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
