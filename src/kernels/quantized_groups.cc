// Compiled once per SIMD target by Highway's foreach_target (AVX-512 VNNI included: this file
// asks for HWY_AVX3_DL); grouped_matmul dispatches at run time. See quantized_groups.h.
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/quantized_groups.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include "kernels/vnni-inl.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "attend/core/half_float.h"
#include "attend/core/parallel.h"
#include "kernels/quantized_groups.h"

#undef ATTEND_GROUPS_X86
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#include <immintrin.h>
#define ATTEND_GROUPS_X86 1
#else
#define ATTEND_GROUPS_X86 0
#endif

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {

// x's four codes at columns [c, c + 4), as one 32-bit value.
HWY_INLINE int32_t Quad(const int8_t* x) {
  int32_t quad;
  std::memcpy(&quad, x, sizeof quad);
  return quad;
}

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL

// 16 int32 lanes: lane r += sum over t < 4 of u[4r + t] s[4r + t].
HWY_INLINE __m512i DotQuads(__m512i sum, __m512i u, __m512i s) {
#if HWY_TARGET == HWY_AVX3_DL
  return DotBytes(sum, u, s);
#else
  return _mm512_add_epi32(sum, _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1)));
#endif
}

// One group of 16 W rows against x rows [b, b + kX): y[b + r][16g .. 16g + 15].
template <QuantFormat kFormat, int kX>
void GroupTile(const GroupedWeightsView& w, int64_t g, const QuantizedRowsView& x, int64_t b, float* y) {
  const int64_t blocks = w.blocks;
  const uint8_t* codes = w.codes + g * blocks * kGroupBlockBytes;
  const uint16_t* scales = w.scales + g * blocks * kGroupRows;
  const uint16_t* mins = kFormat == QuantFormat::q4_1 ? w.mins + g * blocks * kGroupRows : nullptr;
  const __m512i low_nibbles = _mm512_set1_epi8(0x0F);
  __m512 out[kX];
  for (int r = 0; r < kX; ++r) out[r] = _mm512_setzero_ps();
  for (int64_t j = 0; j < blocks; ++j) {
    const uint8_t* line = codes + j * kGroupBlockBytes;
    // Decoding streams W from memory once: ask for the next group's codes (an address, not a
    // pointer: past the last group it points nowhere, and prefetches never fault).
    for (int p = 0; p < 4; ++p) {
      _mm_prefetch(
          reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(line) + blocks * kGroupBlockBytes + 64 * p),
          _MM_HINT_T0);
    }
    __m512i sums[kX];
    for (int r = 0; r < kX; ++r) {
      sums[r] =
          kFormat == QuantFormat::q4_0 ? _mm512_set1_epi32(-8 * x.sums[(b + r) * blocks + j]) : _mm512_setzero_si512();
    }
    for (int p = 0; p < 4; ++p) {
      const __m512i packed = _mm512_loadu_si512(line + 64 * p);
      const __m512i low = _mm512_and_si512(packed, low_nibbles);
      const __m512i high = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low_nibbles);
      for (int r = 0; r < kX; ++r) {
        const int8_t* quad = x.codes + (b + r) * blocks * kQuantBlock + j * kQuantBlock + 8 * p;
        sums[r] = DotQuads(sums[r], low, _mm512_set1_epi32(Quad(quad)));
        sums[r] = DotQuads(sums[r], high, _mm512_set1_epi32(Quad(quad + 4)));
      }
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales + j * kGroupRows)));
    for (int r = 0; r < kX; ++r) {
      const int64_t block = (b + r) * blocks + j;
      out[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums[r]), _mm512_mul_ps(d, _mm512_set1_ps(x.scales[block])), out[r]);
      if constexpr (kFormat == QuantFormat::q4_1) {
        const __m512 m = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(mins + j * kGroupRows)));
        out[r] = _mm512_fmadd_ps(m, _mm512_set1_ps(x.scaled_sums[block]), out[r]);
      }
    }
  }
  const int64_t live = std::min(kGroupRows, w.rows - g * kGroupRows);
  const auto mask = static_cast<__mmask16>((1u << live) - 1);
  for (int r = 0; r < kX; ++r) _mm512_mask_storeu_ps(y + (b + r) * w.rows + g * kGroupRows, mask, out[r]);
}

#elif HWY_TARGET == HWY_AVX2

// 8 int32 lanes (half a group's rows): lane r += sum over t < 4 of u[4r + t] s[4r + t].
HWY_INLINE __m256i DotQuads(__m256i sum, __m256i u, __m256i s) {
  return _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}

// As the AVX-512 tile, each 64-byte line taken as two halves of 8 rows.
template <QuantFormat kFormat, int kX>
void GroupTile(const GroupedWeightsView& w, int64_t g, const QuantizedRowsView& x, int64_t b, float* y) {
  const int64_t blocks = w.blocks;
  const uint8_t* codes = w.codes + g * blocks * kGroupBlockBytes;
  const uint16_t* scales = w.scales + g * blocks * kGroupRows;
  const uint16_t* mins = kFormat == QuantFormat::q4_1 ? w.mins + g * blocks * kGroupRows : nullptr;
  const __m256i low_nibbles = _mm256_set1_epi8(0x0F);
  __m256 out[2][kX];
  for (int h = 0; h < 2; ++h) {
    for (int r = 0; r < kX; ++r) out[h][r] = _mm256_setzero_ps();
  }
  for (int64_t j = 0; j < blocks; ++j) {
    const uint8_t* line = codes + j * kGroupBlockBytes;
    for (int h = 0; h < 2; ++h) {
      __m256i sums[kX];
      for (int r = 0; r < kX; ++r) {
        sums[r] = kFormat == QuantFormat::q4_0 ? _mm256_set1_epi32(-8 * x.sums[(b + r) * blocks + j])
                                               : _mm256_setzero_si256();
      }
      for (int p = 0; p < 4; ++p) {
        const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(line + 64 * p + 32 * h));
        const __m256i low = _mm256_and_si256(packed, low_nibbles);
        const __m256i high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_nibbles);
        for (int r = 0; r < kX; ++r) {
          const int8_t* quad = x.codes + (b + r) * blocks * kQuantBlock + j * kQuantBlock + 8 * p;
          sums[r] = DotQuads(sums[r], low, _mm256_set1_epi32(Quad(quad)));
          sums[r] = DotQuads(sums[r], high, _mm256_set1_epi32(Quad(quad + 4)));
        }
      }
      const __m256 d =
          _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales + j * kGroupRows + 8 * h)));
      for (int r = 0; r < kX; ++r) {
        const int64_t block = (b + r) * blocks + j;
        out[h][r] =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[r]), _mm256_mul_ps(d, _mm256_set1_ps(x.scales[block])), out[h][r]);
        if constexpr (kFormat == QuantFormat::q4_1) {
          const __m256 m =
              _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(mins + j * kGroupRows + 8 * h)));
          out[h][r] = _mm256_fmadd_ps(m, _mm256_set1_ps(x.scaled_sums[block]), out[h][r]);
        }
      }
    }
  }
  const int64_t live = std::min(kGroupRows, w.rows - g * kGroupRows);
  for (int r = 0; r < kX; ++r) {
    alignas(32) float values[kGroupRows];
    _mm256_store_ps(values, out[0][r]);
    _mm256_store_ps(values + 8, out[1][r]);
    std::copy(values, values + live, y + (b + r) * w.rows + g * kGroupRows);
  }
}

#else  // scalar targets: each output alone, in the same order

template <QuantFormat kFormat, int kX>
void GroupTile(const GroupedWeightsView& w, int64_t g, const QuantizedRowsView& x, int64_t b, float* y) {
  const int64_t blocks = w.blocks, live = std::min(kGroupRows, w.rows - g * kGroupRows);
  for (int r = 0; r < kX; ++r) {
    for (int64_t row = 0; row < live; ++row) {
      float out = 0.0f;
      for (int64_t j = 0; j < blocks; ++j) {
        const uint8_t* line = w.codes + (g * blocks + j) * kGroupBlockBytes;
        const int8_t* q = x.codes + ((b + r) * blocks + j) * kQuantBlock;
        const int64_t block = (b + r) * blocks + j, slot = (g * blocks + j) * kGroupRows + row;
        int32_t sum = kFormat == QuantFormat::q4_0 ? -8 * x.sums[block] : 0;
        for (int p = 0; p < 4; ++p) {
          for (int t = 0; t < 4; ++t) {
            const uint8_t byte = line[64 * p + 4 * row + t];
            sum += (byte & 15) * q[8 * p + t] + (byte >> 4) * q[8 * p + 4 + t];
          }
        }
        out = std::fma(static_cast<float>(sum), float_from_f16_bits(w.scales[slot]) * x.scales[block], out);
        if (kFormat == QuantFormat::q4_1) out = std::fma(float_from_f16_bits(w.mins[slot]), x.scaled_sums[block], out);
      }
      y[(b + r) * w.rows + g * kGroupRows + row] = out;
    }
  }
}

#endif

// Groups [begin, end) against every x row, four at a time, then one at a time.
template <QuantFormat kFormat>
void Groups(const GroupedWeightsView& w, const QuantizedRowsView& x, float* y, int64_t begin, int64_t end) {
  for (int64_t g = begin; g < end; ++g) {
    int64_t b = 0;
    for (; b + 4 <= x.rows; b += 4) GroupTile<kFormat, 4>(w, g, x, b, y);
    for (; b < x.rows; ++b) GroupTile<kFormat, 1>(w, g, x, b, y);
  }
}

const char* KernelTarget() { return hwy::TargetName(HWY_TARGET); }

void GroupRange(const GroupedWeightsView& w, const QuantizedRowsView& x, float* HWY_RESTRICT y, int64_t begin,
                int64_t end) {
  if (w.format == QuantFormat::q4_1) return Groups<QuantFormat::q4_1>(w, x, y, begin, end);
  Groups<QuantFormat::q4_0>(w, x, y, begin, end);
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {
namespace {

// The nibble of column c (< 32) in a GGML Q4 block: c < 16 low nibble of byte c, else high of c - 16.
uint8_t block_nibble(const uint8_t* block, int64_t c) { return c < 16 ? block[c] & 15 : block[c - 16] >> 4; }

// Where column c of a block sits in a group's lines: (byte offset of row 0, high nibble?).
int64_t line_offset(int64_t c) { return 64 * (c / 8) + c % 4; }
bool line_high(int64_t c) { return c % 8 >= 4; }

}  // namespace

HWY_EXPORT(GroupRange);
HWY_EXPORT(KernelTarget);

const char* quantized_kernel_target() { return HWY_DYNAMIC_DISPATCH(KernelTarget)(); }

void group_rows(int64_t rows, int64_t blocks, const uint8_t* row_codes, const uint16_t* row_scales,
                const uint16_t* row_mins, uint8_t* codes, uint16_t* scales, uint16_t* mins) {
  const int64_t groups = row_groups(rows);
  std::fill_n(codes, groups * blocks * kGroupBlockBytes, uint8_t{0});
  std::fill_n(scales, groups * blocks * kGroupRows, uint16_t{0});
  if (mins != nullptr) std::fill_n(mins, groups * blocks * kGroupRows, uint16_t{0});
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t g = row / kGroupRows, r = row % kGroupRows;
    for (int64_t j = 0; j < blocks; ++j) {
      const uint8_t* block = row_codes + (row * blocks + j) * 16;
      uint8_t* line = codes + (g * blocks + j) * kGroupBlockBytes + 4 * r;
      for (int64_t c = 0; c < kQuantBlock; ++c) {
        line[line_offset(c)] |= static_cast<uint8_t>(block_nibble(block, c) << (line_high(c) ? 4 : 0));
      }
      scales[(g * blocks + j) * kGroupRows + r] = row_scales[row * blocks + j];
      if (mins != nullptr) mins[(g * blocks + j) * kGroupRows + r] = row_mins[row * blocks + j];
    }
  }
}

void ungroup_row(const GroupedWeightsView& w, int64_t row, uint8_t* row_codes, uint16_t* row_scales,
                 uint16_t* row_mins) {
  const int64_t g = row / kGroupRows, r = row % kGroupRows;
  for (int64_t j = 0; j < w.blocks; ++j) {
    const uint8_t* line = w.codes + (g * w.blocks + j) * kGroupBlockBytes + 4 * r;
    uint8_t* block = row_codes + j * 16;
    std::fill_n(block, 16, uint8_t{0});
    for (int64_t c = 0; c < kQuantBlock; ++c) {
      const uint8_t byte = line[line_offset(c)];
      const auto nibble = static_cast<uint8_t>(line_high(c) ? byte >> 4 : byte & 15);
      block[c % 16] |= static_cast<uint8_t>(nibble << (c < 16 ? 0 : 4));
    }
    row_scales[j] = w.scales[(g * w.blocks + j) * kGroupRows + r];
    if (row_mins != nullptr && w.mins != nullptr) row_mins[j] = w.mins[(g * w.blocks + j) * kGroupRows + r];
  }
}

void grouped_matmul(const GroupedWeightsView& w, const QuantizedRowsView& x, float* y) {
  // Chunks of groups whose codes are at least ~32 KB, so that a thread streams its share.
  const int64_t group_bytes = std::max<int64_t>(1, w.blocks * kGroupBlockBytes);
  const int64_t grain = std::max<int64_t>(1, 32768 / group_bytes);
  parallel_for(row_groups(w.rows), grain, [&](int64_t begin, int64_t end) {
    HWY_DYNAMIC_DISPATCH(GroupRange)(w, x, y, begin, end);
  });
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
