// Compiled once per SIMD target by Highway's foreach_target; tile_products.h's functions
// dispatch at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/tile_products.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#include <immintrin.h>
#endif

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/tile_products.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
constexpr int kBlockRows = 6;

// fn(std::integral_constant<int, n>, r0) for the blocks of kBlockRows rows, then once for the
// n < kBlockRows rows left, so that each block size is its own compiled kernel.
template <class Fn>
void ForEachRowBlock(int64_t rows, const Fn& fn) {
  int64_t r0 = 0;
  for (; r0 + kBlockRows <= rows; r0 += kBlockRows) fn(std::integral_constant<int, kBlockRows>(), r0);
  switch (rows - r0) {
    case 5:
      fn(std::integral_constant<int, 5>(), r0);
      break;
    case 4:
      fn(std::integral_constant<int, 4>(), r0);
      break;
    case 3:
      fn(std::integral_constant<int, 3>(), r0);
      break;
    case 2:
      fn(std::integral_constant<int, 2>(), r0);
      break;
    case 1:
      fn(std::integral_constant<int, 1>(), r0);
      break;
    default:
      break;
  }
}

int64_t PanelWidth() { return 2 * static_cast<int64_t>(hn::Lanes(DF())); }

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL

// out[c * ldo + r] = x[r * ldx + c] for r, c < 16: sixteen rows loaded, transposed in registers
// (pairs interleaved, then 64-bit pairs, then 128-bit lanes twice), sixteen columns stored.
HWY_INLINE void Transpose16x16(const float* HWY_RESTRICT x, int64_t ldx, float* HWY_RESTRICT out, int64_t ldo) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(x + i * ldx);
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    for (int h = 0; h < 16; h += 8) {
      t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
      t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xdd);
    }
  }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
  }
  for (int i = 0; i < 16; ++i) _mm512_storeu_ps(out + i * ldo, r[i]);
}

// The columns [0, 16 floor(d / 16)) of a whole panel (32 real rows) by 16 x 16 transposes;
// returns how many columns it packed (the gathers do the rest).
int64_t PackWholePanel(const float* HWY_RESTRICT first, int64_t ldx, int64_t d, float* HWY_RESTRICT panel) {
  const int64_t columns = d / 16 * 16;
  for (int64_t e0 = 0; e0 < columns; e0 += 16) {
    Transpose16x16(first + e0, ldx, panel + e0 * 32, 32);
    Transpose16x16(first + 16 * ldx + e0, ldx, panel + e0 * 32 + 16, 32);
  }
  return columns;
}

#else

int64_t PackWholePanel(const float*, int64_t, int64_t, float*) { return 0; }

#endif

// Each packed row e of a panel is x's column e over the panel's W rows. On AVX-512, a panel of
// W real rows goes 16 x 16 blocks at a time through register transposes (a decode step's
// attention packed each short cache by gathers: a tenth of the step); otherwise two gathers of
// a vector of rows each (rows at or past count read row count - 1, then are zeroed). Gather
// indices are 32-bit: a row stride too large for them takes the scalar loop. Packing moves
// floats only: every path gives the same panel.
void PackPanels(const float* HWY_RESTRICT x, int64_t ldx, int64_t count, int64_t d, float* HWY_RESTRICT packed) {
  const DF df;
  const hn::RebindToSigned<DF> di;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const int64_t width = 2 * lanes;
  const int64_t panels = (count + width - 1) / width;
  const bool gather = ldx * width <= INT32_MAX;
  for (int64_t p = 0; p < panels; ++p) {
    float* panel = packed + p * d * width;
    const int64_t rows = std::min(width, count - p * width);  // real rows of this panel, >= 1
    const float* first = x + p * width * ldx;
    if (gather) {
      const auto row = hn::Iota(di, 0);
      const auto last_row = hn::Set(di, static_cast<int32_t>(rows - 1));
      const auto stride = hn::Set(di, static_cast<int32_t>(ldx));
      const auto low_rows = hn::Min(row, last_row);
      const auto high_rows = hn::Min(hn::Add(row, hn::Set(di, static_cast<int32_t>(lanes))), last_row);
      const auto low_index = hn::Mul(low_rows, stride), high_index = hn::Mul(high_rows, stride);
      const auto low_real = hn::RebindMask(df, hn::Lt(row, hn::Set(di, static_cast<int32_t>(rows))));
      const auto high_real = hn::RebindMask(df, hn::Lt(row, hn::Set(di, static_cast<int32_t>(rows - lanes))));
      const int64_t transposed = rows == width && width == 32 ? PackWholePanel(first, ldx, d, panel) : 0;
      for (int64_t e = transposed; e < d; ++e) {
        hn::StoreU(hn::IfThenElseZero(low_real, hn::GatherIndex(df, first + e, low_index)), df, panel + e * width);
        hn::StoreU(hn::IfThenElseZero(high_real, hn::GatherIndex(df, first + e, high_index)), df,
                   panel + e * width + lanes);
      }
      continue;
    }
    for (int64_t w = 0; w < width; ++w) {
      for (int64_t e = 0; e < d; ++e) panel[e * width + w] = w < rows ? first[w * ldx + e] : 0.0f;
    }
  }
}

// The accumulators of a block are named variables, two per row (low and high vector), not an
// array: GCC keeps an array of vectors in memory and stores it on every iteration.
#define ATTEND_FOR_EACH_BLOCK_ROW(ROW) ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#define ATTEND_DECLARE_ROW(i) [[maybe_unused]] hn::Vec<DF> low##i = hn::Zero(df), high##i = hn::Zero(df);

// S block (kRows, cols <= 2 vectors) = A rows (kRows, d) times one packed panel (d, 2 vectors).
template <int kRows>
HWY_INLINE void PackedBlock(const float* HWY_RESTRICT q, int64_t ldq, const float* HWY_RESTRICT panel, int64_t d,
                            float* HWY_RESTRICT s, int64_t lds, int64_t cols) {
  static_assert(kRows >= 1 && kRows <= kBlockRows);
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  ATTEND_FOR_EACH_BLOCK_ROW(ATTEND_DECLARE_ROW)
  for (int64_t e = 0; e < d; ++e) {
    const auto b0 = hn::LoadU(df, panel + e * 2 * lanes);
    const auto b1 = hn::LoadU(df, panel + e * 2 * lanes + lanes);
#define ATTEND_PACKED_ROW(i)                    \
  if constexpr (kRows > i) {                    \
    const auto a = hn::Set(df, q[i * ldq + e]); \
    low##i = hn::MulAdd(a, b0, low##i);         \
    high##i = hn::MulAdd(a, b1, high##i);       \
  }
    ATTEND_FOR_EACH_BLOCK_ROW(ATTEND_PACKED_ROW)
#undef ATTEND_PACKED_ROW
  }
  HWY_ALIGN float row[2 * hn::MaxLanes(df)];
  const auto store = [&](hn::Vec<DF> low, hn::Vec<DF> high, float* target) {
    if (cols == 2 * lanes) {
      hn::StoreU(low, df, target);
      hn::StoreU(high, df, target + lanes);
    } else {
      hn::Store(low, df, row);
      hn::Store(high, df, row + lanes);
      std::copy_n(row, cols, target);
    }
  };
#define ATTEND_STORE_ROW(i) \
  if constexpr (kRows > i) store(low##i, high##i, s + i * lds);
  ATTEND_FOR_EACH_BLOCK_ROW(ATTEND_STORE_ROW)
#undef ATTEND_STORE_ROW
}

// Panel by panel, every row block against a panel while it is in L1 (a panel is d x W floats:
// 16 KB at D = 128), rather than every panel against a row block.
void TimesPackedTransposed(const float* HWY_RESTRICT q, int64_t ldq, int64_t rows, const float* HWY_RESTRICT packed,
                           int64_t j0, int64_t cols, int64_t d, float* HWY_RESTRICT s, int64_t lds) {
  HWY_DASSERT(j0 % PanelWidth() == 0);
  const int64_t width = PanelWidth(), first_panel = j0 / width;
  for (int64_t c0 = 0; c0 < cols; c0 += width) {
    const float* panel = packed + (first_panel + c0 / width) * d * width;
    const int64_t panel_cols = std::min(width, cols - c0);
    ForEachRowBlock(rows, [&](auto block_rows, int64_t r0) {
      PackedBlock<decltype(block_rows)::value>(q + r0 * ldq, ldq, panel, d, s + r0 * lds + c0, lds, panel_cols);
    });
  }
}

// C block (kRows, 2 vectors) += A rows (kRows, inner) times B columns (inner, 2 vectors), A(i, j)
// at a[i rs + j cs].
template <int kRows>
HWY_INLINE void ProductBlock(const float* HWY_RESTRICT a, int64_t rs, int64_t cs, int64_t inner,
                             const float* HWY_RESTRICT b, int64_t ldb, float* HWY_RESTRICT o, int64_t ldo) {
  static_assert(kRows >= 1 && kRows <= kBlockRows);
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  ATTEND_FOR_EACH_BLOCK_ROW(ATTEND_DECLARE_ROW)
#define ATTEND_LOAD_ROW(i)                        \
  if constexpr (kRows > i) {                      \
    low##i = hn::LoadU(df, o + i * ldo);          \
    high##i = hn::LoadU(df, o + i * ldo + lanes); \
  }
  ATTEND_FOR_EACH_BLOCK_ROW(ATTEND_LOAD_ROW)
#undef ATTEND_LOAD_ROW
  for (int64_t j = 0; j < inner; ++j) {
    const auto b0 = hn::LoadU(df, b + j * ldb);
    const auto b1 = hn::LoadU(df, b + j * ldb + lanes);
    const float* aj = a + j * cs;
#define ATTEND_PRODUCT_ROW(i)                \
  if constexpr (kRows > i) {                 \
    const auto ai = hn::Set(df, aj[i * rs]); \
    low##i = hn::MulAdd(ai, b0, low##i);     \
    high##i = hn::MulAdd(ai, b1, high##i);   \
  }
    ATTEND_FOR_EACH_BLOCK_ROW(ATTEND_PRODUCT_ROW)
#undef ATTEND_PRODUCT_ROW
  }
#define ATTEND_STORE_ROW(i)                       \
  if constexpr (kRows > i) {                      \
    hn::StoreU(low##i, df, o + i * ldo);          \
    hn::StoreU(high##i, df, o + i * ldo + lanes); \
  }
  ATTEND_FOR_EACH_BLOCK_ROW(ATTEND_STORE_ROW)
#undef ATTEND_STORE_ROW
}

#undef ATTEND_DECLARE_ROW
#undef ATTEND_FOR_EACH_BLOCK_ROW

// Columns n0 .. columns - 1 of a block of kRows rows, past the last whole pair of vectors: the
// same chain per element, one lane at a time through the target's own MulAdd (fused where the
// target has FMA, as the vectors are).
template <int kRows>
void ProductTail(const float* a, int64_t rs, int64_t cs, int64_t inner, const float* b, int64_t ldb, int64_t n0,
                 int64_t columns, float* c, int64_t ldc) {
  const hn::CappedTag<float, 1> d1;
  for (int i = 0; i < kRows; ++i) {
    for (int64_t n = n0; n < columns; ++n) {
      auto sum = hn::Set(d1, c[i * ldc + n]);
      for (int64_t j = 0; j < inner; ++j) {
        sum = hn::MulAdd(hn::Set(d1, a[i * rs + j * cs]), hn::Set(d1, b[j * ldb + n]), sum);
      }
      c[i * ldc + n] = hn::GetLane(sum);
    }
  }
}

// Pair of vectors of columns by pair, every row block against B's columns while they are in L1
// (inner x 2 vectors: 32 KB for 256 keys), rather than all of B against a row block.
void AccumulateProduct(const float* HWY_RESTRICT a, int64_t a_row_stride, int64_t a_col_stride, int64_t rows,
                       int64_t inner, const float* HWY_RESTRICT b, int64_t ldb, int64_t columns, float* HWY_RESTRICT c,
                       int64_t ldc) {
  const int64_t width = PanelWidth();
  int64_t n0 = 0;
  for (; n0 + width <= columns; n0 += width) {
    ForEachRowBlock(rows, [&](auto block_rows, int64_t r0) {
      ProductBlock<decltype(block_rows)::value>(a + r0 * a_row_stride, a_row_stride, a_col_stride, inner, b + n0, ldb,
                                                c + r0 * ldc + n0, ldc);
    });
  }
  if (n0 == columns) return;
  ForEachRowBlock(rows, [&](auto block_rows, int64_t r0) {
    ProductTail<decltype(block_rows)::value>(a + r0 * a_row_stride, a_row_stride, a_col_stride, inner, b, ldb, n0,
                                             columns, c + r0 * ldc, ldc);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(PanelWidth);
HWY_EXPORT(PackPanels);
HWY_EXPORT(TimesPackedTransposed);
HWY_EXPORT(AccumulateProduct);

int64_t panel_width() { return HWY_DYNAMIC_DISPATCH(PanelWidth)(); }

int64_t packed_panels_size(int64_t count, int64_t d) {
  const int64_t width = panel_width();
  return (count + width - 1) / width * width * d;
}

void pack_panels(const float* x, int64_t ldx, int64_t count, int64_t d, float* packed) {
  HWY_DYNAMIC_DISPATCH(PackPanels)(x, ldx, count, d, packed);
}

void times_packed_transposed(const float* a, int64_t lda, int64_t rows, const float* packed, int64_t j0, int64_t cols,
                             int64_t d, float* s, int64_t lds) {
  HWY_DYNAMIC_DISPATCH(TimesPackedTransposed)(a, lda, rows, packed, j0, cols, d, s, lds);
}

void accumulate_product(const float* a, int64_t a_row_stride, int64_t a_col_stride, int64_t rows, int64_t inner,
                        const float* b, int64_t ldb, int64_t columns, float* c, int64_t ldc) {
  HWY_DYNAMIC_DISPATCH(AccumulateProduct)(a, a_row_stride, a_col_stride, rows, inner, b, ldb, columns, c, ldc);
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
