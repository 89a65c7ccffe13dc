// Compiled once per SIMD target by Highway's foreach_target (AVX-512 VNNI included: this file
// asks for HWY_AVX3_DL); grouped_matmul dispatches at run time. See quantized_groups.h.
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/quantized_groups.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include "kernels/gelu-inl.h"
#include "kernels/vnni-inl.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "attend/core/error.h"
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

// x's four codes at `quad`, as one 32-bit value, and the tile's other entries (quantized_activations.h).
HWY_INLINE int32_t Quad(const uint8_t* quad) {
  int32_t value;
  std::memcpy(&value, quad, sizeof value);
  return value;
}
HWY_INLINE float FloatAt(const uint8_t* p) {
  float value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

// A tile of kN rows, block j: quad c of the tile's row r at Entry(j) + 32 r + 4 c, then start,
// scale and scaled_sum at 4 (8 kN + r), 4 (9 kN + r), 4 (10 kN + r).
template <int kN>
struct TileBlock {
  const uint8_t* entry;
  const uint8_t* quad(int c, int r) const { return entry + kQuantBlock * r + 4 * c; }
  int32_t start(int r) const { return Quad(entry + 4 * (8 * kN + r)); }
  float scale(int r) const { return FloatAt(entry + 4 * (9 * kN + r)); }
  float scaled_sum(int r) const { return FloatAt(entry + 4 * (10 * kN + r)); }
};
template <int kN>
HWY_INLINE TileBlock<kN> BlockOf(const uint8_t* tile, int64_t j) {
  return {tile + kTileEntryBytes * kN * j};
}

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL

// Without VNNI: lane r += sum over t < 4 of u[4r + t] s[4r + t] by vpmaddubsw + vpmaddwd.
HWY_INLINE __m512i MaddQuads(__m512i sum, __m512i u, __m512i s) {
  return _mm512_add_epi32(sum, _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1)));
}

// 16 int32 lanes: lane r += sum over t < 4 of u[4r + t] x[t], x the four bytes at `quad`.
HWY_INLINE __m512i DotQuad(__m512i sum, __m512i u, const uint8_t* quad) {
#if HWY_TARGET == HWY_AVX3_DL
  return DotBytesBroadcast(sum, u, quad);
#else
  return MaddQuads(sum, u, _mm512_set1_epi32(Quad(quad)));
#endif
}

// Q8_0's offset codes (c + 128) against x's quad: on VNNI straight into vpdpbusd (the offset
// taken back by starting at `start` = -128 sums_j); without it, vpmaddubsw would saturate on 255
// x 127 pairs, so the codes go back to signed and the sign trick applies (|c| x sign-adjusted x),
// from a start of 0.
constexpr bool kOffsetQ8 = HWY_TARGET == HWY_AVX3_DL;
HWY_INLINE __m512i DotOffsetQuad(__m512i sum, __m512i offset_codes, const uint8_t* quad) {
#if HWY_TARGET == HWY_AVX3_DL
  return DotBytesBroadcast(sum, offset_codes, quad);
#else
  const __m512i x = _mm512_set1_epi32(Quad(quad));
  const __m512i codes = _mm512_xor_si512(offset_codes, _mm512_set1_epi8(static_cast<char>(0x80)));
  const __mmask64 negative = _mm512_movepi8_mask(codes);
  return MaddQuads(sum, _mm512_abs_epi8(codes), _mm512_mask_sub_epi8(x, negative, _mm512_setzero_si512(), x));
#endif
}

// One group of 16 W rows against the kN rows of the tile at `tile` (x rows b ..), in one pass
// (8 rows' sums and outputs fill 16 of the 32 vector registers):
// y[b + r][16g .. 16g + 15] = act(... + bias).
template <QuantFormat kFormat, int kN>
void TileRows(const GroupedWeightsView& w, int64_t g, const uint8_t* tile, int64_t b, const float* bias,
              OutputActivation activation, float* y, bool stream) {
  constexpr int64_t kBlockBytes = group_block_bytes(kFormat);
  const int64_t blocks = w.blocks;
  const uint8_t* codes = w.codes + g * blocks * kBlockBytes;
  const uint16_t* scales = w.scales + g * blocks * kGroupRows;
  const uint16_t* mins = kFormat == QuantFormat::q4_1 ? w.mins + g * blocks * kGroupRows : nullptr;
  const __m512i low_nibbles = _mm512_set1_epi8(0x0F);
  const bool starts = kFormat != QuantFormat::q8_0 || kOffsetQ8;
  __m512 out[kN];
  for (int r = 0; r < kN; ++r) out[r] = _mm512_setzero_ps();
  for (int64_t j = 0; j < blocks; ++j) {
    const uint8_t* line = codes + j * kBlockBytes;
    // Decoding streams W from memory once: ask for the next group's codes (an address, not a
    // pointer: past the last group it points nowhere, and prefetches never fault). A batch of
    // more rows finds them in cache after its first tile.
    if (stream) {
      for (int p = 0; p < kBlockBytes / 64; ++p) {
        _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(line) + blocks * kBlockBytes + 64 * p),
                     _MM_HINT_T0);
      }
    }
    const TileBlock<kN> x = BlockOf<kN>(tile, j);
    __m512i sums[kN];
    for (int r = 0; r < kN; ++r) sums[r] = starts ? _mm512_set1_epi32(x.start(r)) : _mm512_setzero_si512();
    if constexpr (kFormat == QuantFormat::q8_0) {
      for (int p = 0; p < 8; ++p) {
        const __m512i offset_codes = _mm512_loadu_si512(line + 64 * p);
        for (int r = 0; r < kN; ++r) sums[r] = DotOffsetQuad(sums[r], offset_codes, x.quad(p, r));
      }
    } else {
      for (int p = 0; p < 4; ++p) {
        const __m512i packed = _mm512_loadu_si512(line + 64 * p);
        const __m512i low = _mm512_and_si512(packed, low_nibbles);
        const __m512i high = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low_nibbles);
        for (int r = 0; r < kN; ++r) {
          sums[r] = DotQuad(sums[r], low, x.quad(2 * p, r));
          sums[r] = DotQuad(sums[r], high, x.quad(2 * p + 1, r));
        }
      }
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales + j * kGroupRows)));
    for (int r = 0; r < kN; ++r) {
      out[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums[r]), _mm512_mul_ps(d, _mm512_set1_ps(x.scale(r))), out[r]);
      if constexpr (kFormat == QuantFormat::q4_1) {
        const __m512 m = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(mins + j * kGroupRows)));
        out[r] = _mm512_fmadd_ps(m, _mm512_set1_ps(x.scaled_sum(r)), out[r]);
      }
    }
  }
  const int64_t live = std::min(kGroupRows, w.rows - g * kGroupRows);
  const auto mask = static_cast<__mmask16>((1u << live) - 1);
  const __m512 added = bias != nullptr ? _mm512_maskz_loadu_ps(mask, bias + g * kGroupRows) : _mm512_setzero_ps();
  const hn::Full512<float> d16;
  for (int r = 0; r < kN; ++r) {
    __m512 result = bias != nullptr ? _mm512_add_ps(out[r], added) : out[r];
    if (activation == OutputActivation::kGelu) result = Gelu(d16, hn::Vec512<float>{result}).raw;
    _mm512_mask_storeu_ps(y + (b + r) * w.rows + g * kGroupRows, mask, result);
  }
}

#elif HWY_TARGET == HWY_AVX2

// 8 int32 lanes (half a group's rows): lane r += sum over t < 4 of u[4r + t] s[4r + t].
HWY_INLINE __m256i MaddQuads(__m256i sum, __m256i u, __m256i s) {
  return _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}

// The same with s the four bytes at `quad` in every lane.
HWY_INLINE __m256i DotQuad(__m256i sum, __m256i u, const uint8_t* quad) {
  return MaddQuads(sum, u, _mm256_set1_epi32(Quad(quad)));
}

// Q8_0's offset codes against x's quad by the sign trick (vpmaddubsw would saturate on 255 x 127).
HWY_INLINE __m256i DotOffsetQuad(__m256i sum, __m256i offset_codes, const uint8_t* quad) {
  const __m256i x = _mm256_set1_epi32(Quad(quad));
  const __m256i codes = _mm256_xor_si256(offset_codes, _mm256_set1_epi8(static_cast<char>(0x80)));
  return MaddQuads(sum, _mm256_abs_epi8(codes), _mm256_sign_epi8(x, codes));
}

// As the AVX-512 tile, each 64-byte line taken as two halves of 8 rows, and kX <= 4 of the
// tile's kN rows (from row `first` of the tile) in a pass, which 16 vector registers hold.
template <QuantFormat kFormat, int kN, int kX>
void GroupTile(const GroupedWeightsView& w, int64_t g, const uint8_t* tile, int first, int64_t b, const float* bias,
               OutputActivation activation, float* y) {
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
    const TileBlock<kN> x = BlockOf<kN>(tile, j);
    for (int h = 0; h < 2; ++h) {
      __m256i sums[kX];
      for (int r = 0; r < kX; ++r) {
        sums[r] = kFormat == QuantFormat::q4_0 ? _mm256_set1_epi32(x.start(first + r)) : _mm256_setzero_si256();
      }
      if constexpr (kFormat == QuantFormat::q8_0) {
        for (int p = 0; p < 8; ++p) {
          const __m256i offset_codes = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(line + 64 * p + 32 * h));
          for (int r = 0; r < kX; ++r) sums[r] = DotOffsetQuad(sums[r], offset_codes, x.quad(p, first + r));
        }
      } else {
        for (int p = 0; p < 4; ++p) {
          const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(line + 64 * p + 32 * h));
          const __m256i low = _mm256_and_si256(packed, low_nibbles);
          const __m256i high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_nibbles);
          for (int r = 0; r < kX; ++r) {
            sums[r] = DotQuad(sums[r], low, x.quad(2 * p, first + r));
            sums[r] = DotQuad(sums[r], high, x.quad(2 * p + 1, first + r));
          }
        }
      }
      const __m256 d =
          _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales + j * kGroupRows + 8 * h)));
      for (int r = 0; r < kX; ++r) {
        out[h][r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[r]), _mm256_mul_ps(d, _mm256_set1_ps(x.scale(first + r))),
                                    out[h][r]);
        if constexpr (kFormat == QuantFormat::q4_1) {
          const __m256 m =
              _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(mins + j * kGroupRows + 8 * h)));
          out[h][r] = _mm256_fmadd_ps(m, _mm256_set1_ps(x.scaled_sum(first + r)), out[h][r]);
        }
      }
    }
  }
  const int64_t live = std::min(kGroupRows, w.rows - g * kGroupRows);
  const hn::Full256<float> d8;
  for (int r = 0; r < kX; ++r) {
    alignas(32) float values[kGroupRows];
    _mm256_store_ps(values, out[0][r]);
    _mm256_store_ps(values + 8, out[1][r]);
    for (int64_t o = 0; o < live && bias != nullptr; ++o) values[o] += bias[g * kGroupRows + o];
    if (activation == OutputActivation::kGelu) {
      for (int h = 0; h < 2; ++h) hn::Store(Gelu(d8, hn::Load(d8, values + 8 * h)), d8, values + 8 * h);
    }
    std::copy(values, values + live, y + (b + first + r) * w.rows + g * kGroupRows);
  }
}

// A tile of kN rows in passes of up to 4.
template <QuantFormat kFormat, int kN>
HWY_INLINE void TileRows(const GroupedWeightsView& w, int64_t g, const uint8_t* tile, int64_t b, const float* bias,
                         OutputActivation activation, float* y, bool /*stream*/) {
  constexpr int kX = kN < 4 ? kN : 4;
  for (int first = 0; first < kN; first += kX) GroupTile<kFormat, kN, kX>(w, g, tile, first, b, bias, activation, y);
}

#else  // scalar targets: each output alone, in the same order

template <QuantFormat kFormat, int kN>
void TileRows(const GroupedWeightsView& w, int64_t g, const uint8_t* tile, int64_t b, const float* bias,
              OutputActivation activation, float* y, bool /*stream*/) {
  const hn::ScalableTag<float> d;
  constexpr int64_t kBlockBytes = group_block_bytes(kFormat);
  const int64_t blocks = w.blocks, live = std::min(kGroupRows, w.rows - g * kGroupRows);
  for (int r = 0; r < kN; ++r) {
    for (int64_t row = 0; row < live; ++row) {
      float out = 0.0f;
      for (int64_t j = 0; j < blocks; ++j) {
        const uint8_t* line = w.codes + (g * blocks + j) * kBlockBytes;
        const TileBlock<kN> x = BlockOf<kN>(tile, j);
        const int64_t slot = (g * blocks + j) * kGroupRows + row;
        int32_t sum = x.start(r);
        for (int p = 0; p < kBlockBytes / 64; ++p) {
          for (int t = 0; t < 4; ++t) {
            const uint8_t byte = line[64 * p + 4 * row + t];
            if (kFormat == QuantFormat::q8_0) {
              sum += byte * static_cast<int8_t>(x.quad(p, r)[t]);
            } else {
              sum += (byte & 15) * static_cast<int8_t>(x.quad(2 * p, r)[t]) +
                     (byte >> 4) * static_cast<int8_t>(x.quad(2 * p + 1, r)[t]);
            }
          }
        }
        out = std::fma(static_cast<float>(sum), float_from_f16_bits(w.scales[slot]) * x.scale(r), out);
        if (kFormat == QuantFormat::q4_1) out = std::fma(float_from_f16_bits(w.mins[slot]), x.scaled_sum(r), out);
      }
      if (bias != nullptr) out += bias[g * kGroupRows + row];
      if (activation == OutputActivation::kGelu) out = hn::GetLane(Gelu(d, hn::Set(d, out)));
      y[(b + r) * w.rows + g * kGroupRows + row] = out;
    }
  }
}

#endif

// Groups taken at a time: their codes, about 512 KB, stay in this core's L2 cache while every
// tile of x passes over them. Within such a chunk a tile meets all its groups in turn, so that
// the tile stays in L1 and its outputs are written along its rows (a column stripe at a time
// through a large output was a third slower).
constexpr int64_t kChunkBytes = 512 * 1024;

// Groups [begin, end) against every tile of x: the nibbles or bytes a block loads serve the
// tile's 8 rows (as in a decode step of eight sequences), then the tail's 4 and single rows. A
// row's arithmetic is the same in every tile and chunk, so neither changes its bits.
template <QuantFormat kFormat>
void Groups(const GroupedWeightsView& w, const QuantizedTilesView& x, const float* bias, OutputActivation activation,
            float* y, int64_t begin, int64_t end) {
  const int64_t chunk = std::max<int64_t>(1, kChunkBytes / std::max<int64_t>(1, x.blocks * group_block_bytes(kFormat)));
  for (int64_t first = begin; first < end; first += chunk) {
    const int64_t last = std::min(end, first + chunk);
    for (int64_t b = 0; b < x.rows;) {
      const int64_t n = tile_rows_at(b, x.rows);
      const uint8_t* tile = x.data + kTileEntryBytes * b * x.blocks;
      const bool stream = b == 0;  // the chunk's codes come from memory on its first tile: prefetch them
      for (int64_t g = first; g < last; ++g) {
        if (n == 8) {
          TileRows<kFormat, 8>(w, g, tile, b, bias, activation, y, stream);
        } else if (n == 4) {
          TileRows<kFormat, 4>(w, g, tile, b, bias, activation, y, stream);
        } else {
          TileRows<kFormat, 1>(w, g, tile, b, bias, activation, y, stream);
        }
      }
      b += n;
    }
  }
}

const char* KernelTarget() { return hwy::TargetName(HWY_TARGET); }

void GroupRange(const GroupedWeightsView& w, const QuantizedTilesView& x, const float* bias,
                OutputActivation activation, float* HWY_RESTRICT y, int64_t begin, int64_t end) {
  switch (w.format) {
    case QuantFormat::q8_0:
      return Groups<QuantFormat::q8_0>(w, x, bias, activation, y, begin, end);
    case QuantFormat::q4_0:
      return Groups<QuantFormat::q4_0>(w, x, bias, activation, y, begin, end);
    case QuantFormat::q4_1:
      return Groups<QuantFormat::q4_1>(w, x, bias, activation, y, begin, end);
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

void grouped_matmul(const GroupedWeightsView& w, const QuantizedTilesView& x, const float* bias,
                    OutputActivation activation, float* y) {
  ATTEND_CHECK(x.weights == w.format && x.blocks == w.blocks, ValueError,
               "grouped_matmul: activations quantized for format {} with {} blocks, weights of format {} with {}",
               static_cast<int>(x.weights), x.blocks, static_cast<int>(w.format), w.blocks);
  // Chunks of groups whose codes are at least ~32 KB, so that a thread streams its share.
  const int64_t group_bytes = std::max<int64_t>(1, w.blocks * group_block_bytes(w.format));
  const int64_t grain = std::max<int64_t>(1, 32768 / group_bytes);
  parallel_for(row_groups(w.rows), grain, [&](int64_t begin, int64_t end) {
    HWY_DYNAMIC_DISPATCH(GroupRange)(w, x, bias, activation, y, begin, end);
  });
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
