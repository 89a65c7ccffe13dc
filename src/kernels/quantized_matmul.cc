// Compiled once per SIMD target by Highway's foreach_target (AVX-512 VNNI included: this file
// asks for HWY_AVX3_DL); the product dispatches at run time. See quantized_matmul.h for the math.
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/quantized_matmul.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>
#include <cmath>

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
};

RowPair Operands(const QuantizedWeightsView& w, int64_t o, const QuantizedRowsView& x, int64_t b) {
  const int64_t blocks = w.blocks;
  return {w.codes + o * blocks * quant_code_bytes(w.format), w.scales + o * blocks,
          w.mins == nullptr ? nullptr : w.mins + o * blocks, x.codes + b * blocks * kQuantBlock,
          x.scales + b * blocks, x.sums + b * blocks};
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

// Block j's 32 weight codes as unsigned bytes in column order, and x's 32 codes signed to
// match: Q4 nibbles with x as it is; Q8_0 |q| with x negated where q < 0 (AVX2's sign trick:
// |q| <= 128 and |x| <= 127 keep vpmaddubsw's pair sums below 2^15).
struct Operands256 {
  __m256i u, s;
};

HWY_INLINE __m256i Nibbles(const uint8_t* bytes) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(0x0F));
}

// 8 int32 lanes, lane l = sum of u_i s_i over i in [4l, 4l + 4).
HWY_INLINE __m256i DotLanes(__m256i u, __m256i s) {
#if HWY_TARGET == HWY_AVX3_DL
  __m256i sum = _mm256_setzero_si256();
  asm("vpdpbusd %2, %1, %0" : "+v"(sum) : "v"(u), "v"(s));  // AVX-512 VNNI (VL), not in GCC 12's target string here
  return sum;
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

// The lanes of block j whose total is the integer factor of d_j s_j.
HWY_INLINE __m256i BlockLanes(QuantFormat format, __m256i u, __m256i x) {
  if (format == QuantFormat::q8_0) return DotLanes(_mm256_abs_epi8(u), _mm256_sign_epi8(x, u));
  const __m256i lanes = DotLanes(u, x);
  if (format == QuantFormat::q4_1) return lanes;
  return _mm256_sub_epi32(lanes, DotLanes(_mm256_set1_epi8(8), x));  // S_j - 8 sums_j, lane by lane
}

HWY_INLINE __m256i WeightCodes(QuantFormat format, const uint8_t* codes, int64_t j) {
  if (format == QuantFormat::q8_0) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + j * 32));
  return Nibbles(codes + j * 16);
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

// y for kX rows of x against one row of W (pairs[r]: the same W row, x row r), sharing each
// block's weight codes. Per x row: acc += float(lanes) * (d_j s_j) over j, then the lanes, then
// (Q4_1) + sum_j m_j (s_j sums_j) in j order: the same operations whatever kX.
template <int kX>
void DotRows(QuantFormat format, const RowPair* pairs, int64_t blocks, float* const* out) {
  __m256 acc[kX];
  float min_terms[kX];
  for (int r = 0; r < kX; ++r) acc[r] = _mm256_setzero_ps(), min_terms[r] = 0.0f;
  const RowPair& w = pairs[0];
  for (int64_t j = 0; j < blocks; ++j) {
    const __m256i u = WeightCodes(format, w.codes, j);
    const float d = _cvtsh_ss(w.scales[j]);
    const float m = format == QuantFormat::q4_1 ? _cvtsh_ss(w.mins[j]) : 0.0f;
    for (int r = 0; r < kX; ++r) {
      const RowPair& p = pairs[r];
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.x_codes + j * kQuantBlock));
      const __m256 lanes = _mm256_cvtepi32_ps(BlockLanes(format, u, x));
      acc[r] = _mm256_fmadd_ps(lanes, _mm256_set1_ps(d * p.x_scales[j]), acc[r]);
      if (format == QuantFormat::q4_1) {
        min_terms[r] = std::fma(m, p.x_scales[j] * static_cast<float>(p.x_sums[j]), min_terms[r]);
      }
    }
  }
  for (int r = 0; r < kX; ++r) *out[r] = SumLanes(acc[r]) + min_terms[r];
}

int32_t BlockSum(QuantFormat format, const RowPair& p, int64_t j) {
  const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.x_codes + j * kQuantBlock));
  return SumLanes(BlockLanes(format, WeightCodes(format, p.codes, j), x));
}

#else  // scalar targets: the same sums, the float part in block order

template <int kX>
void DotRows(QuantFormat format, const RowPair* pairs, int64_t blocks, float* const* out) {
  for (int r = 0; r < kX; ++r) {
    const RowPair& p = pairs[r];
    float acc = 0.0f, min_terms = 0.0f;
    for (int64_t j = 0; j < blocks; ++j) {
      const float d = float_from_f16_bits(p.scales[j]);
      acc = std::fma(static_cast<float>(BlockSumScalar(format, p, j)), d * p.x_scales[j], acc);
      if (format == QuantFormat::q4_1) {
        min_terms = std::fma(float_from_f16_bits(p.mins[j]), p.x_scales[j] * static_cast<float>(p.x_sums[j]),
                             min_terms);
      }
    }
    *out[r] = acc + min_terms;
  }
}

int32_t BlockSum(QuantFormat format, const RowPair& p, int64_t j) { return BlockSumScalar(format, p, j); }

#endif  // ATTEND_QUANT_X86

// Rows [begin, end) of W against every row of x: x rows four at a time per W row, so that a
// W row's codes are expanded once for four outputs.
void MatMulRowRange(const QuantizedWeightsView& w, const QuantizedRowsView& x, float* HWY_RESTRICT y, int64_t begin,
                    int64_t end) {
  constexpr int64_t kChunk = 16;  // W rows kept in L1 while every x row passes
  for (int64_t chunk = begin; chunk < end; chunk += kChunk) {
    const int64_t chunk_end = std::min(end, chunk + kChunk);
    int64_t b = 0;
    for (; b + 4 <= x.rows; b += 4) {
      for (int64_t o = chunk; o < chunk_end; ++o) {
        const RowPair pairs[4] = {Operands(w, o, x, b), Operands(w, o, x, b + 1), Operands(w, o, x, b + 2),
                                  Operands(w, o, x, b + 3)};
        float* const out[4] = {y + b * w.rows + o, y + (b + 1) * w.rows + o, y + (b + 2) * w.rows + o,
                               y + (b + 3) * w.rows + o};
        DotRows<4>(w.format, pairs, w.blocks, out);
      }
    }
    for (; b < x.rows; ++b) {
      for (int64_t o = chunk; o < chunk_end; ++o) {
        const RowPair pair = Operands(w, o, x, b);
        float* const out[1] = {y + b * w.rows + o};
        DotRows<1>(w.format, &pair, w.blocks, out);
      }
    }
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

void quantize_rows(const float* x, int64_t rows, int64_t blocks, int8_t* codes, float* scales, int32_t* sums) {
  for (int64_t block = 0; block < rows * blocks; ++block) {
    const float* v = x + block * kQuantBlock;
    float max = 0.0f;
    bool finite = true;
    for (int i = 0; i < kQuantBlock; ++i) {
      finite = finite && std::isfinite(v[i]);
      max = std::max(max, std::fabs(v[i]));
    }
    const float scale = finite ? max / 127.0f : NAN;
    const float inverse = finite && scale != 0.0f ? 1.0f / scale : 0.0f;
    int32_t sum = 0;
    for (int i = 0; i < kQuantBlock; ++i) {
      const auto q = static_cast<int8_t>(std::nearbyint(v[i] * inverse));  // ties to even
      codes[block * kQuantBlock + i] = q;
      sum += q;
    }
    scales[block] = scale;
    sums[block] = sum;
  }
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
