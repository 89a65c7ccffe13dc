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

// Q8_0's offset codes (c + 128) against x broadcast: on VNNI straight into vpdpbusd (the
// offset taken back by starting at -128 sums_j); without it, vpmaddubsw would saturate on 255 x
// 127 pairs, so the codes go back to signed and the sign trick applies (|c| x sign-adjusted x).
HWY_INLINE __m512i DotOffsetBytes(__m512i sum, __m512i offset_codes, __m512i x) {
#if HWY_TARGET == HWY_AVX3_DL
  return DotQuads(sum, offset_codes, x);
#else
  const __m512i codes = _mm512_xor_si512(offset_codes, _mm512_set1_epi8(static_cast<char>(0x80)));
  const __mmask64 negative = _mm512_movepi8_mask(codes);
  return DotQuads(sum, _mm512_abs_epi8(codes), _mm512_mask_sub_epi8(x, negative, _mm512_setzero_si512(), x));
#endif
}

// Where S_j starts for row b of x: minus the codes' offset times the block's sum of x.
template <QuantFormat kFormat>
HWY_INLINE int32_t StartingSum(const QuantizedRowsView& x, int64_t block) {
  if (kFormat == QuantFormat::q4_0) return -8 * x.sums[block];
#if HWY_TARGET == HWY_AVX3_DL
  if (kFormat == QuantFormat::q8_0) return -128 * x.sums[block];
#endif
  return 0;
}

// One group of 16 W rows against x rows [b, b + kX): y[b + r][16g .. 16g + 15].
template <QuantFormat kFormat, int kX>
void GroupTile(const GroupedWeightsView& w, int64_t g, const QuantizedRowsView& x, int64_t b, float* y) {
  constexpr int64_t kBlockBytes = group_block_bytes(kFormat);
  const int64_t blocks = w.blocks;
  const uint8_t* codes = w.codes + g * blocks * kBlockBytes;
  const uint16_t* scales = w.scales + g * blocks * kGroupRows;
  const uint16_t* mins = kFormat == QuantFormat::q4_1 ? w.mins + g * blocks * kGroupRows : nullptr;
  const __m512i low_nibbles = _mm512_set1_epi8(0x0F);
  __m512 out[kX];
  for (int r = 0; r < kX; ++r) out[r] = _mm512_setzero_ps();
  for (int64_t j = 0; j < blocks; ++j) {
    const uint8_t* line = codes + j * kBlockBytes;
    // Decoding streams W from memory once: ask for the next group's codes (an address, not a
    // pointer: past the last group it points nowhere, and prefetches never fault).
    for (int p = 0; p < kBlockBytes / 64; ++p) {
      _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(line) + blocks * kBlockBytes + 64 * p),
                   _MM_HINT_T0);
    }
    __m512i sums[kX];
    for (int r = 0; r < kX; ++r) sums[r] = _mm512_set1_epi32(StartingSum<kFormat>(x, (b + r) * blocks + j));
    if constexpr (kFormat == QuantFormat::q8_0) {
      for (int p = 0; p < 8; ++p) {
        const __m512i offset_codes = _mm512_loadu_si512(line + 64 * p);
        for (int r = 0; r < kX; ++r) {
          const int8_t* quad = x.codes + (b + r) * blocks * kQuantBlock + j * kQuantBlock + 4 * p;
          sums[r] = DotOffsetBytes(sums[r], offset_codes, _mm512_set1_epi32(Quad(quad)));
        }
      }
    } else {
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

// Q8_0's offset codes against x by the sign trick (vpmaddubsw would saturate on 255 x 127).
HWY_INLINE __m256i DotOffsetBytes(__m256i sum, __m256i offset_codes, __m256i x) {
  const __m256i codes = _mm256_xor_si256(offset_codes, _mm256_set1_epi8(static_cast<char>(0x80)));
  return DotQuads(sum, _mm256_abs_epi8(codes), _mm256_sign_epi8(x, codes));
}

// As the AVX-512 tile, each 64-byte line taken as two halves of 8 rows.
template <QuantFormat kFormat, int kX>
void GroupTile(const GroupedWeightsView& w, int64_t g, const QuantizedRowsView& x, int64_t b, float* y) {
  constexpr int64_t kBlockBytes = group_block_bytes(kFormat);
  const int64_t blocks = w.blocks;
  const uint8_t* codes = w.codes + g * blocks * kBlockBytes;
  const uint16_t* scales = w.scales + g * blocks * kGroupRows;
  const uint16_t* mins = kFormat == QuantFormat::q4_1 ? w.mins + g * blocks * kGroupRows : nullptr;
  const __m256i low_nibbles = _mm256_set1_epi8(0x0F);
  __m256 out[2][kX];
  for (int h = 0; h < 2; ++h) {
    for (int r = 0; r < kX; ++r) out[h][r] = _mm256_setzero_ps();
  }
  for (int64_t j = 0; j < blocks; ++j) {
    const uint8_t* line = codes + j * kBlockBytes;
    for (int h = 0; h < 2; ++h) {
      __m256i sums[kX];
      for (int r = 0; r < kX; ++r) {
        sums[r] = kFormat == QuantFormat::q4_0 ? _mm256_set1_epi32(-8 * x.sums[(b + r) * blocks + j])
                                               : _mm256_setzero_si256();
      }
      if constexpr (kFormat == QuantFormat::q8_0) {
        for (int p = 0; p < 8; ++p) {
          const __m256i offset_codes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(line + 64 * p + 32 * h));
          for (int r = 0; r < kX; ++r) {
            const int8_t* quad = x.codes + (b + r) * blocks * kQuantBlock + j * kQuantBlock + 4 * p;
            sums[r] = DotOffsetBytes(sums[r], offset_codes, _mm256_set1_epi32(Quad(quad)));
          }
        }
      } else {
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
  constexpr int64_t kBlockBytes = group_block_bytes(kFormat);
  const int64_t blocks = w.blocks, live = std::min(kGroupRows, w.rows - g * kGroupRows);
  for (int r = 0; r < kX; ++r) {
    for (int64_t row = 0; row < live; ++row) {
      float out = 0.0f;
      for (int64_t j = 0; j < blocks; ++j) {
        const uint8_t* line = w.codes + (g * blocks + j) * kBlockBytes;
        const int8_t* q = x.codes + ((b + r) * blocks + j) * kQuantBlock;
        const int64_t block = (b + r) * blocks + j, slot = (g * blocks + j) * kGroupRows + row;
        int32_t sum = kFormat == QuantFormat::q4_0 ? -8 * x.sums[block] : 0;
        for (int p = 0; p < kBlockBytes / 64; ++p) {
          for (int t = 0; t < 4; ++t) {
            const uint8_t byte = line[64 * p + 4 * row + t];
            if (kFormat == QuantFormat::q8_0) {
              sum += (static_cast<int32_t>(byte) - 128) * q[4 * p + t];
            } else {
              sum += (byte & 15) * q[8 * p + t] + (byte >> 4) * q[8 * p + 4 + t];
            }
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

// Groups [begin, end) against every x row: eight at a time where 32 vector registers hold a
// tile's sums and outputs (AVX-512: the nibbles a block unpacks then serve eight rows, as in a
// decode step of eight sequences), four at a time, then one at a time. A row's arithmetic is
// the same in every tile, so the tiling does not change its bits.
template <QuantFormat kFormat>
void Groups(const GroupedWeightsView& w, const QuantizedRowsView& x, float* y, int64_t begin, int64_t end) {
  constexpr bool kWideTiles = HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL;
  for (int64_t g = begin; g < end; ++g) {
    int64_t b = 0;
    if constexpr (kWideTiles) {
      for (; b + 8 <= x.rows; b += 8) GroupTile<kFormat, 8>(w, g, x, b, y);
    }
    for (; b + 4 <= x.rows; b += 4) GroupTile<kFormat, 4>(w, g, x, b, y);
    for (; b < x.rows; ++b) GroupTile<kFormat, 1>(w, g, x, b, y);
  }
}

const char* KernelTarget() { return hwy::TargetName(HWY_TARGET); }

void GroupRange(const GroupedWeightsView& w, const QuantizedRowsView& x, float* HWY_RESTRICT y, int64_t begin,
                int64_t end) {
  switch (w.format) {
    case QuantFormat::q8_0:
      return Groups<QuantFormat::q8_0>(w, x, y, begin, end);
    case QuantFormat::q4_0:
      return Groups<QuantFormat::q4_0>(w, x, y, begin, end);
    case QuantFormat::q4_1:
      return Groups<QuantFormat::q4_1>(w, x, y, begin, end);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {
namespace {

// The nibble of column c (< 32) in a GGML Q4 block: c < 16 low nibble of byte c, else high of c - 16.
uint8_t block_nibble(const uint8_t* block, int64_t c) { return c < 16 ? block[c] & 15 : block[c - 16] >> 4; }

// Where column c of a block sits in a group's lines for row 0 (add 4r for row r): Q4 the byte and
// whether the high nibble; Q8_0 the byte.
int64_t q4_offset(int64_t c) { return 64 * (c / 8) + c % 4; }
bool q4_high(int64_t c) { return c % 8 >= 4; }
int64_t q8_offset(int64_t c) { return 64 * (c / 4) + c % 4; }

}  // namespace

HWY_EXPORT(GroupRange);
HWY_EXPORT(KernelTarget);

const char* quantized_kernel_target() { return HWY_DYNAMIC_DISPATCH(KernelTarget)(); }

void group_rows(QuantFormat format, int64_t rows, int64_t blocks, const uint8_t* row_codes, const uint16_t* row_scales,
                const uint16_t* row_mins, uint8_t* codes, uint16_t* scales, uint16_t* mins) {
  const int64_t groups = row_groups(rows), block_bytes = group_block_bytes(format);
  const bool q8 = format == QuantFormat::q8_0;
  std::fill_n(codes, groups * blocks * block_bytes, static_cast<uint8_t>(q8 ? 128 : 0));  // padding rows: code 0
  std::fill_n(scales, groups * blocks * kGroupRows, uint16_t{0});
  if (mins != nullptr) std::fill_n(mins, groups * blocks * kGroupRows, uint16_t{0});
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t g = row / kGroupRows, r = row % kGroupRows;
    for (int64_t j = 0; j < blocks; ++j) {
      uint8_t* lines = codes + (g * blocks + j) * block_bytes + 4 * r;
      if (q8) {
        const uint8_t* block = row_codes + (row * blocks + j) * 32;
        for (int64_t c = 0; c < kQuantBlock; ++c) lines[q8_offset(c)] = static_cast<uint8_t>(block[c] ^ 0x80);
      } else {
        const uint8_t* block = row_codes + (row * blocks + j) * 16;
        for (int64_t c = 0; c < kQuantBlock; ++c) {
          lines[q4_offset(c)] |= static_cast<uint8_t>(block_nibble(block, c) << (q4_high(c) ? 4 : 0));
        }
      }
      scales[(g * blocks + j) * kGroupRows + r] = row_scales[row * blocks + j];
      if (mins != nullptr) mins[(g * blocks + j) * kGroupRows + r] = row_mins[row * blocks + j];
    }
  }
}

void ungroup_row(const GroupedWeightsView& w, int64_t row, uint8_t* row_codes, uint16_t* row_scales,
                 uint16_t* row_mins) {
  const int64_t g = row / kGroupRows, r = row % kGroupRows, block_bytes = group_block_bytes(w.format);
  for (int64_t j = 0; j < w.blocks; ++j) {
    const uint8_t* lines = w.codes + (g * w.blocks + j) * block_bytes + 4 * r;
    if (w.format == QuantFormat::q8_0) {
      for (int64_t c = 0; c < kQuantBlock; ++c)
        row_codes[j * 32 + c] = static_cast<uint8_t>(lines[q8_offset(c)] ^ 0x80);
    } else {
      uint8_t* block = row_codes + j * 16;
      std::fill_n(block, 16, uint8_t{0});
      for (int64_t c = 0; c < kQuantBlock; ++c) {
        const uint8_t byte = lines[q4_offset(c)];
        const auto nibble = static_cast<uint8_t>(q4_high(c) ? byte >> 4 : byte & 15);
        block[c % 16] |= static_cast<uint8_t>(nibble << (c < 16 ? 0 : 4));
      }
    }
    row_scales[j] = w.scales[(g * w.blocks + j) * kGroupRows + r];
    if (row_mins != nullptr && w.mins != nullptr) row_mins[j] = w.mins[(g * w.blocks + j) * kGroupRows + r];
  }
}

void grouped_matmul(const GroupedWeightsView& w, const QuantizedRowsView& x, float* y) {
  // Chunks of groups whose codes are at least ~32 KB, so that a thread streams its share.
  const int64_t group_bytes = std::max<int64_t>(1, w.blocks * group_block_bytes(w.format));
  const int64_t grain = std::max<int64_t>(1, 32768 / group_bytes);
  parallel_for(row_groups(w.rows), grain, [&](int64_t begin, int64_t end) {
    HWY_DYNAMIC_DISPATCH(GroupRange)(w, x, y, begin, end);
  });
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
