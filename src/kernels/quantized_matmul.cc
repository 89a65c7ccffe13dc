// Compiled once per SIMD target by Highway's foreach_target (AVX-512 VNNI included: this file
// asks for HWY_AVX3_DL); the product dispatches at run time. See quantized_matmul.h for the math.
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/quantized_matmul.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include "kernels/vnni-inl.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "attend/core/half_float.h"
#include "attend/core/parallel.h"
#include "kernels/quantized_matmul.h"

#undef ATTEND_QUANT_X86
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#include <immintrin.h>
#define ATTEND_QUANT_X86 1
#else
#define ATTEND_QUANT_X86 0
#endif

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {

// One output's operands: row o of W and row b of x, as pointers to their first block.
struct RowPair {
  const uint8_t* codes;
  const uint16_t* scales;
  const uint16_t* mins;
  const int8_t* x_codes;
  const float* x_scales;
  const int32_t* x_sums;
  const float* scaled_sums;
};

RowPair Operands(const QuantizedWeightsView& w, int64_t o, const QuantizedRowsView& x, int64_t b) {
  const int64_t blocks = w.blocks;
  return {w.codes + o * blocks * quant_code_bytes(w.format),
          w.scales + o * blocks,
          w.mins == nullptr ? nullptr : w.mins + o * blocks,
          x.codes + b * blocks * kQuantBlock,
          x.scales + b * blocks,
          x.sums + b * blocks,
          x.scaled_sums + b * blocks};
}

// The integer factor of d_j s_j in block j: S_j (Q8_0, Q4_1) or S_j - 8 sums_j (Q4_0), scalar.
int32_t BlockSumScalar(QuantFormat format, const RowPair& p, int64_t j) {
  const int8_t* x = p.x_codes + j * kQuantBlock;
  int32_t sum = 0;
  if (format == QuantFormat::q8_0) {
    const auto* q = reinterpret_cast<const int8_t*>(p.codes + j * 32);
    for (int i = 0; i < 32; ++i) sum += static_cast<int32_t>(q[i]) * x[i];
    return sum;
  }
  const uint8_t* b = p.codes + j * 16;
  for (int k = 0; k < 16; ++k) sum += (b[k] & 15) * x[k] + (b[k] >> 4) * x[k + 16];
  return format == QuantFormat::q4_0 ? sum - 8 * p.x_sums[j] : sum;
}

#if ATTEND_QUANT_X86

// One block's 32 weight codes as unsigned bytes in column order (Q4: nibbles, low then high;
// Q8_0: the int8 codes, made unsigned by the sign trick below), x's 32 codes beside them.
HWY_INLINE __m256i Nibbles(const uint8_t* bytes) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(0x0F));
}

HWY_INLINE __m256i WeightCodes256(QuantFormat format, const uint8_t* codes, int64_t j) {
  if (format == QuantFormat::q8_0) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + j * 32));
  return Nibbles(codes + j * 16);
}

HWY_INLINE __m256i XCodes256(const int8_t* x, int64_t j) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + j * kQuantBlock));
}

// Lane l = sum of u_i s_i over i in [4l, 4l + 4), u unsigned, s signed bytes.
HWY_INLINE __m256i DotLanes256(__m256i u, __m256i s) {
#if HWY_TARGET == HWY_AVX3_DL
  return _mm512_castsi512_si256(
      DotBytes(_mm512_setzero_si512(), _mm512_castsi256_si512(u), _mm512_castsi256_si512(s)));  // the low half
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

// The lanes whose total is block j's integer factor of d_j s_j: Q8_0 |q| against x negated
// where q < 0 (|q| <= 128, |x| <= 127: vpmaddubsw's pair sums stay below 2^15); Q4_0 minus
// 8 x, lane by lane.
HWY_INLINE __m256i BlockLanes256(QuantFormat format, __m256i u, __m256i x) {
  if (format == QuantFormat::q8_0) return DotLanes256(_mm256_abs_epi8(u), _mm256_sign_epi8(x, u));
  const __m256i lanes = DotLanes256(u, x);
  if (format == QuantFormat::q4_1) return lanes;
  return _mm256_sub_epi32(lanes, DotLanes256(_mm256_set1_epi8(8), x));
}

HWY_INLINE int32_t SumLanes(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

HWY_INLINE float SumLanes(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

int32_t BlockSum(QuantFormat format, const RowPair& p, int64_t j) {
  return SumLanes(BlockLanes256(format, WeightCodes256(format, p.codes, j), XCodes256(p.x_codes, j)));
}

// Q4 codes of W rows [begin, end) widened to one byte each, 32 a block, row after row.
void ExpandRows(const QuantizedWeightsView& w, int64_t begin, int64_t end, uint8_t* expanded) {
  for (int64_t block = begin * w.blocks; block < end * w.blocks; ++block, expanded += kQuantBlock) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(expanded), Nibbles(w.codes + block * 16));
  }
}

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL

// 512 bits: a step covers two blocks, j and j + 1; 32-bit lanes 0..7 belong to block j, 8..15
// to block j + 1. A last odd block fills the low half, the high half zero (codes and scales).
constexpr int64_t kStep = 2;
using IntVector = __m512i;
using FloatVector = __m512;

HWY_INLINE __m512i Widen(__m256i low) { return _mm512_inserti64x4(_mm512_setzero_si512(), low, 0); }

// [n of block j | n of block j + 1]: each block's 16 bytes give its low nibbles (columns 0..15)
// then its high nibbles (16..31).
HWY_INLINE __m512i WeightCodes(QuantFormat format, const uint8_t* codes, int64_t j, bool pair) {
  if (!pair) return Widen(WeightCodes256(format, codes, j));
  if (format == QuantFormat::q8_0) return _mm512_loadu_si512(codes + j * 32);
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + j * 16));  // [b_j | b_j+1]
  const __m512i halves = _mm512_inserti64x4(_mm512_castsi256_si512(b), _mm256_srli_epi16(b, 4), 1);
  const __m512i nibbles = _mm512_and_si512(halves, _mm512_set1_epi8(0x0F));  // [lo_j, lo_j+1, hi_j, hi_j+1]
  return _mm512_shuffle_i64x2(nibbles, nibbles, _MM_SHUFFLE(3, 1, 2, 0));    // [lo_j, hi_j, lo_j+1, hi_j+1]
}

// Codes already widened to one byte each (ExpandRows), 32 a block.
HWY_INLINE __m512i ExpandedCodes(const uint8_t* codes, int64_t j, bool pair) {
  if (!pair) return Widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + j * 32)));
  return _mm512_loadu_si512(codes + j * 32);
}

HWY_INLINE __m512i XCodes(const int8_t* x, int64_t j, bool pair) {
  return pair ? _mm512_loadu_si512(x + j * kQuantBlock) : Widen(XCodes256(x, j));
}

HWY_INLINE __m512i DotLanes(__m512i u, __m512i s) {
#if HWY_TARGET == HWY_AVX3_DL
  return DotBytes(_mm512_setzero_si512(), u, s);
#else
  return _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1));
#endif
}

// x prepared once per weight format: Q4_0 also needs 8 x per lane.
struct XOperand {
  __m512i codes, eight_x;
};

HWY_INLINE XOperand PrepareX(QuantFormat format, __m512i x) {
  return {x, format == QuantFormat::q4_0 ? DotLanes(_mm512_set1_epi8(8), x) : _mm512_setzero_si512()};
}

HWY_INLINE __m512i BlockLanes(QuantFormat format, __m512i u, const XOperand& x) {
  if (format == QuantFormat::q8_0) {
    const __mmask64 negative = _mm512_movepi8_mask(u);
    return DotLanes(_mm512_abs_epi8(u), _mm512_mask_sub_epi8(x.codes, negative, _mm512_setzero_si512(), x.codes));
  }
  const __m512i lanes = DotLanes(u, x.codes);
  return format == QuantFormat::q4_1 ? lanes : _mm512_sub_epi32(lanes, x.eight_x);
}

// [a ×8 | b ×8] from two floats [a, b, ...] in the low lanes.
HWY_INLINE __m512 SpreadPair(__m128 ab) {
  const __m512i index = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_permutexvar_ps(index, _mm512_castps128_ps512(ab));
}

HWY_INLINE __m512 WeightScales(const uint16_t* scales, int64_t j, bool pair) {
  uint32_t bits = scales[j];
  if (pair) std::memcpy(&bits, scales + j, sizeof bits);  // d_j, d_j+1: one load
  return SpreadPair(_mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int32_t>(bits))));
}

HWY_INLINE __m512 XScales(const float* scales, int64_t j, bool pair) {
  if (!pair) return SpreadPair(_mm_set_ss(scales[j]));
  return SpreadPair(_mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(scales + j))));  // s_j, s_j+1
}

HWY_INLINE float SumLanes(__m512 v) {
  return SumLanes(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}
HWY_INLINE __m512 AddMinLanes(__m512 acc, __m512 mins) { return _mm512_add_ps(acc, mins); }
HWY_INLINE __m512 ZeroFloat() { return _mm512_setzero_ps(); }
HWY_INLINE __m512 ToFloat(__m512i v) { return _mm512_cvtepi32_ps(v); }
HWY_INLINE __m512 MulAdd(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
HWY_INLINE __m512 Mul(__m512 a, __m512 b) { return _mm512_mul_ps(a, b); }

// Q4_1's min terms of one output, 16 blocks a vector: acc += m_j (s_j sums_j), the last
// vector masked; added to the main accumulator's 16 lanes before they are summed.
HWY_INLINE __m512 MinTerms(const uint16_t* mins, const float* scaled_sums, int64_t blocks) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t j = 0; j < blocks; j += 16) {
    const __mmask16 live = blocks - j >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (blocks - j)) - 1);
    const __m512 m = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(live, mins + j));
    acc = _mm512_fmadd_ps(m, _mm512_maskz_loadu_ps(live, scaled_sums + j), acc);
  }
  return acc;
}

#else  // AVX2: a step is one block

constexpr int64_t kStep = 1;
using IntVector = __m256i;
using FloatVector = __m256;

HWY_INLINE __m256i WeightCodes(QuantFormat format, const uint8_t* codes, int64_t j, bool) {
  return WeightCodes256(format, codes, j);
}
HWY_INLINE __m256i ExpandedCodes(const uint8_t* codes, int64_t j, bool) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + j * 32));
}
HWY_INLINE __m256i XCodes(const int8_t* x, int64_t j, bool) { return XCodes256(x, j); }

struct XOperand {
  __m256i codes;
};
HWY_INLINE XOperand PrepareX(QuantFormat, __m256i x) { return {x}; }
HWY_INLINE __m256i BlockLanes(QuantFormat format, __m256i u, const XOperand& x) {
  return BlockLanes256(format, u, x.codes);
}
HWY_INLINE __m256 WeightScales(const uint16_t* scales, int64_t j, bool) { return _mm256_set1_ps(_cvtsh_ss(scales[j])); }
HWY_INLINE __m256 XScales(const float* scales, int64_t j, bool) { return _mm256_set1_ps(scales[j]); }
// Q4_1's min terms of one output, 8 blocks a vector (the last one zero-padded).
HWY_INLINE __m256 MinTerms(const uint16_t* mins, const float* scaled_sums, int64_t blocks) {
  __m256 acc = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= blocks; j += 8) {
    const __m256 m = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(mins + j)));
    acc = _mm256_fmadd_ps(m, _mm256_loadu_ps(scaled_sums + j), acc);
  }
  if (j < blocks) {
    alignas(32) uint16_t m[8] = {};
    alignas(32) float sums[8] = {};
    std::copy(mins + j, mins + blocks, m);
    std::copy(scaled_sums + j, scaled_sums + blocks, sums);
    acc = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(m))), _mm256_load_ps(sums),
                          acc);
  }
  return acc;
}
HWY_INLINE __m256 AddMinLanes(__m256 acc, __m256 mins) { return _mm256_add_ps(acc, mins); }
HWY_INLINE __m256 ZeroFloat() { return _mm256_setzero_ps(); }
HWY_INLINE __m256 ToFloat(__m256i v) { return _mm256_cvtepi32_ps(v); }
HWY_INLINE __m256 MulAdd(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
HWY_INLINE __m256 Mul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }

#endif  // 512 or 256 bits

// y for W rows [o, o + kW) against x rows [b, b + kX): y[(b + r) * w.rows + o + k]. Each output
// has its own accumulator, acc += float(lanes) * (d s) step by step (then, Q4_1, + its min
// terms by lane), then its lanes summed: the same operations whatever the tile around it.
//
// kExpanded: W's Q4 codes come widened to bytes (`expanded`, row o first, 32 bytes a block),
// which a tile of several x rows would otherwise widen once per tile.
template <QuantFormat kFormat, int kW, int kX, bool kExpanded>
void Tile(const QuantizedWeightsView& w, int64_t o, const QuantizedRowsView& x, int64_t b, float* y,
          const uint8_t* expanded) {
  constexpr int64_t kPrefetchRows = 16;
  constexpr int64_t kCodeBytes = kExpanded ? kQuantBlock : quant_code_bytes(kFormat);
  const int64_t blocks = w.blocks;
  const uint8_t* codes = kExpanded ? expanded : w.codes + o * blocks * kCodeBytes;
  const uint16_t* scales = w.scales + o * blocks;
  const int8_t* x_codes = x.codes + b * blocks * kQuantBlock;
  const float* x_scales = x.scales + b * blocks;
  FloatVector acc[kW][kX];
  for (int k = 0; k < kW; ++k) {
    for (int r = 0; r < kX; ++r) acc[k][r] = ZeroFloat();
  }
  // One step at block j: whole steps first, then (512 bits, odd block counts) one block alone.
  const auto step = [&](int64_t j, auto whole) HWY_ATTR {
    constexpr bool pair = decltype(whole)::value && kStep == 2;
    IntVector u[kW];
    FloatVector d[kW];
    for (int k = 0; k < kW; ++k) {
      if constexpr (kExpanded) {
        u[k] = ExpandedCodes(codes + k * blocks * kCodeBytes, j, pair);
      } else {
        // Decoding streams W from memory once: ask for the codes kPrefetchRows rows ahead (an
        // address, not a pointer: past the last row it points nowhere; prefetches never fault).
        const uintptr_t ahead = reinterpret_cast<uintptr_t>(codes) + ((k + kPrefetchRows) * blocks + j) * kCodeBytes;
        _mm_prefetch(reinterpret_cast<const char*>(ahead), _MM_HINT_T0);
        u[k] = WeightCodes(kFormat, codes + k * blocks * kCodeBytes, j, pair);
      }
      d[k] = WeightScales(scales + k * blocks, j, pair);
    }
    for (int r = 0; r < kX; ++r) {
      const XOperand xr = PrepareX(kFormat, XCodes(x_codes + r * blocks * kQuantBlock, j, pair));
      const FloatVector s = XScales(x_scales + r * blocks, j, pair);
      for (int k = 0; k < kW; ++k) {
        acc[k][r] = MulAdd(ToFloat(BlockLanes(kFormat, u[k], xr)), Mul(d[k], s), acc[k][r]);
      }
    }
  };
  int64_t j = 0;
  for (; j + kStep <= blocks; j += kStep) step(j, std::true_type{});
  if (j < blocks) step(j, std::false_type{});
  for (int k = 0; k < kW; ++k) {
    for (int r = 0; r < kX; ++r) {
      float total;
      if constexpr (kFormat == QuantFormat::q4_1) {
        const FloatVector mins = MinTerms(w.mins + (o + k) * blocks, x.scaled_sums + (b + r) * blocks, blocks);
        total = SumLanes(AddMinLanes(acc[k][r], mins));
      } else {
        total = SumLanes(acc[k][r]);
      }
      y[(b + r) * w.rows + o + k] = total;
    }
  }
}

#else  // scalar targets: the same sums, the float part in block order

template <QuantFormat kFormat, int kW, int kX, bool kExpanded>
void Tile(const QuantizedWeightsView& w, int64_t o, const QuantizedRowsView& x, int64_t b, float* y, const uint8_t*) {
  static_assert(!kExpanded, "scalar targets read the codes as stored");
  for (int k = 0; k < kW; ++k) {
    for (int r = 0; r < kX; ++r) {
      const RowPair p = Operands(w, o + k, x, b + r);
      float acc = 0.0f, min_terms = 0.0f;
      for (int64_t j = 0; j < w.blocks; ++j) {
        const float d = float_from_f16_bits(p.scales[j]);
        acc = std::fma(static_cast<float>(BlockSumScalar(kFormat, p, j)), d * p.x_scales[j], acc);
        if (kFormat == QuantFormat::q4_1)
          min_terms = std::fma(float_from_f16_bits(p.mins[j]), p.scaled_sums[j], min_terms);
      }
      y[(b + r) * w.rows + o + k] = acc + min_terms;
    }
  }
}

int32_t BlockSum(QuantFormat format, const RowPair& p, int64_t j) { return BlockSumScalar(format, p, j); }

void ExpandRows(const QuantizedWeightsView&, int64_t, int64_t, uint8_t*) {}  // x86 targets only

#endif  // ATTEND_QUANT_X86

// x rows [b, b + kX) against W rows [begin, end): four W rows at a time, then one
// (kExpanded: `expanded` holds the codes of W rows from `begin` on, widened).
template <QuantFormat kFormat, int kX, bool kExpanded>
void RunRows(const QuantizedWeightsView& w, const QuantizedRowsView& x, float* y, int64_t begin, int64_t end, int64_t b,
             const uint8_t* expanded) {
  const auto at = [&](int64_t o) { return kExpanded ? expanded + (o - begin) * w.blocks * kQuantBlock : nullptr; };
  int64_t o = begin;
  for (; o + 4 <= end; o += 4) Tile<kFormat, 4, kX, kExpanded>(w, o, x, b, y, at(o));
  for (; o < end; ++o) Tile<kFormat, 1, kX, kExpanded>(w, o, x, b, y, at(o));
}

// Chunks of 16 W rows, kept in L1 while the x rows pass four at a time (then one at a time).
// With four x rows or more, Q4 codes are widened once a chunk (x86 targets).
template <QuantFormat kFormat>
void RowRange(const QuantizedWeightsView& w, const QuantizedRowsView& x, float* y, int64_t begin, int64_t end) {
  constexpr int64_t kChunk = 16;
  constexpr bool kCanExpand = ATTEND_QUANT_X86 && kFormat != QuantFormat::q8_0;
  thread_local std::vector<uint8_t> expanded;
  for (int64_t chunk = begin; chunk < end; chunk += kChunk) {
    const int64_t chunk_end = std::min(end, chunk + kChunk);
    int64_t b = 0;
    if constexpr (kCanExpand) {
      if (x.rows >= 4) {
        expanded.resize(static_cast<size_t>(kChunk * w.blocks * kQuantBlock));
        ExpandRows(w, chunk, chunk_end, expanded.data());
        for (; b + 4 <= x.rows; b += 4) RunRows<kFormat, 4, true>(w, x, y, chunk, chunk_end, b, expanded.data());
        for (; b < x.rows; ++b) RunRows<kFormat, 1, true>(w, x, y, chunk, chunk_end, b, expanded.data());
        continue;
      }
    }
    for (; b + 4 <= x.rows; b += 4) RunRows<kFormat, 4, false>(w, x, y, chunk, chunk_end, b, nullptr);
    for (; b < x.rows; ++b) RunRows<kFormat, 1, false>(w, x, y, chunk, chunk_end, b, nullptr);
  }
}

// Rows [begin, end) of W against every row of x, in chunks of W rows that stay in L1 while the
// x rows pass four at a time (then one at a time).
void MatMulRowRange(const QuantizedWeightsView& w, const QuantizedRowsView& x, float* HWY_RESTRICT y, int64_t begin,
                    int64_t end) {
  switch (w.format) {
    case QuantFormat::q8_0:
      return RowRange<QuantFormat::q8_0>(w, x, y, begin, end);
    case QuantFormat::q4_0:
      return RowRange<QuantFormat::q4_0>(w, x, y, begin, end);
    case QuantFormat::q4_1:
      return RowRange<QuantFormat::q4_1>(w, x, y, begin, end);
  }
}

// x's blocks of 32 to int8 codes (quantized_matmul.h): the block's max |x| and a finiteness
// probe (0 * x is NaN exactly when x is NaN or infinite), then x * (1 / s) rounded to even.
// Every lane computes what the scalar form would: the same bits on every target.
void QuantizeBlocks(const float* HWY_RESTRICT x, int64_t count, int8_t* HWY_RESTRICT codes, float* HWY_RESTRICT scales,
                    int32_t* HWY_RESTRICT sums, float* HWY_RESTRICT scaled_sums) {
  namespace hn = hwy::HWY_NAMESPACE;
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));  // divides 32
  for (int64_t block = 0; block < count; ++block) {
    const float* v = x + block * kQuantBlock;
    auto max = hn::Zero(df), probe = hn::Zero(df);
    for (int64_t i = 0; i < kQuantBlock; i += lanes) {
      const auto value = hn::LoadU(df, v + i);
      max = hn::Max(max, hn::Abs(value));
      probe = hn::Add(probe, hn::Mul(hn::Zero(df), value));
    }
    const bool finite = !std::isnan(hn::GetLane(hn::SumOfLanes(df, probe)));
    const float scale = finite ? hn::GetLane(hn::MaxOfLanes(df, max)) / 127.0f : NAN;
    const float inverse = finite && scale != 0.0f ? 1.0f / scale : 0.0f;
    auto sum = hn::Zero(di);
    for (int64_t i = 0; i < kQuantBlock; i += lanes) {
      const auto q = hn::NearestInt(hn::Mul(hn::LoadU(df, v + i), hn::Set(df, inverse)));
      sum = hn::Add(sum, q);
      hn::StoreU(hn::DemoteTo(d8, q), d8, codes + block * kQuantBlock + i);
    }
    const int32_t total = hn::GetLane(hn::SumOfLanes(di, sum));
    scales[block] = scale;
    sums[block] = total;
    scaled_sums[block] = scale * static_cast<float>(total);
  }
}

void BlockSums(const QuantizedWeightsView& w, int64_t o, const QuantizedRowsView& x, int64_t b, int32_t* sums) {
  const RowPair p = Operands(w, o, x, b);
  for (int64_t j = 0; j < w.blocks; ++j) sums[j] = BlockSum(w.format, p, j);
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(MatMulRowRange);
HWY_EXPORT(BlockSums);
HWY_EXPORT(QuantizeBlocks);

void quantize_rows(const float* x, int64_t rows, int64_t blocks, int8_t* codes, float* scales, int32_t* sums,
                   float* scaled_sums) {
  HWY_DYNAMIC_DISPATCH(QuantizeBlocks)(x, rows * blocks, codes, scales, sums, scaled_sums);
}

void quantized_matmul(const QuantizedWeightsView& w, const QuantizedRowsView& x, float* y) {
  // Chunks of W rows whose codes are at least ~32 KB, so that a thread streams its share.
  const int64_t row_bytes = std::max<int64_t>(1, w.blocks * quant_code_bytes(w.format));
  const int64_t grain = std::max<int64_t>(16, 32768 / row_bytes);
  parallel_for(w.rows, grain, [&](int64_t begin, int64_t end) {
    HWY_DYNAMIC_DISPATCH(MatMulRowRange)(w, x, y, begin, end);
  });
}

void quantized_block_sums(const QuantizedWeightsView& w, int64_t o, const QuantizedRowsView& x, int64_t b,
                          int32_t* block_sums) {
  HWY_DYNAMIC_DISPATCH(BlockSums)(w, o, x, b, block_sums);
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
