// Compiled once per SIMD target by Highway's foreach_target; tile_products.h's functions
// dispatch at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/tile_products.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
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
    case 5: fn(std::integral_constant<int, 5>(), r0); break;
    case 4: fn(std::integral_constant<int, 4>(), r0); break;
    case 3: fn(std::integral_constant<int, 3>(), r0); break;
    case 2: fn(std::integral_constant<int, 2>(), r0); break;
    case 1: fn(std::integral_constant<int, 1>(), r0); break;
    default: break;
  }
}

int64_t KeyPanelWidth() { return 2 * static_cast<int64_t>(hn::Lanes(DF())); }

void PackKeyPanels(const float* HWY_RESTRICT k, int64_t ldk, int64_t keys, int64_t d, float* HWY_RESTRICT packed) {
  const int64_t width = KeyPanelWidth();
  const int64_t panels = (keys + width - 1) / width;
  for (int64_t p = 0; p < panels; ++p) {
    float* panel = packed + p * d * width;
    for (int64_t w = 0; w < width; ++w) {
      const int64_t key = p * width + w;
      if (key < keys) {
        for (int64_t e = 0; e < d; ++e) panel[e * width + w] = k[key * ldk + e];
      } else {
        for (int64_t e = 0; e < d; ++e) panel[e * width + w] = 0.0f;
      }
    }
  }
}

// The accumulators of a block are named variables, two per row (low and high vector), not an
// array: GCC keeps an array of vectors in memory and stores it on every iteration.
#define ATTEND_FOR_EACH_BLOCK_ROW(ROW) ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#define ATTEND_DECLARE_ROW(i) [[maybe_unused]] hn::Vec<DF> low##i = hn::Zero(df), high##i = hn::Zero(df);

// S block (kRows, cols <= 2 vectors) = Q rows (kRows, d) times one packed panel (d, 2 vectors).
template <int kRows>
HWY_INLINE void ScoresBlock(const float* HWY_RESTRICT q, int64_t ldq, const float* HWY_RESTRICT panel, int64_t d,
                            float* HWY_RESTRICT s, int64_t lds, int64_t cols) {
  static_assert(kRows >= 1 && kRows <= kBlockRows);
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  ATTEND_FOR_EACH_BLOCK_ROW(ATTEND_DECLARE_ROW)
  for (int64_t e = 0; e < d; ++e) {
    const auto b0 = hn::LoadU(df, panel + e * 2 * lanes);
    const auto b1 = hn::LoadU(df, panel + e * 2 * lanes + lanes);
#define ATTEND_SCORES_ROW(i)                        \
  if constexpr (kRows > i) {                        \
    const auto a = hn::Set(df, q[i * ldq + e]);     \
    low##i = hn::MulAdd(a, b0, low##i);             \
    high##i = hn::MulAdd(a, b1, high##i);           \
  }
    ATTEND_FOR_EACH_BLOCK_ROW(ATTEND_SCORES_ROW)
#undef ATTEND_SCORES_ROW
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

template <int kRows>
void ScoresRows(const float* q, int64_t ldq, const float* packed, int64_t first_panel, int64_t cols, int64_t d,
                float* s, int64_t lds) {
  const int64_t width = KeyPanelWidth();
  for (int64_t c0 = 0; c0 < cols; c0 += width) {
    ScoresBlock<kRows>(q, ldq, packed + (first_panel + c0 / width) * d * width, d, s + c0, lds,
                       std::min(width, cols - c0));
  }
}

void ScoresFromPackedKeys(const float* HWY_RESTRICT q, int64_t ldq, int64_t rows, const float* HWY_RESTRICT packed,
                          int64_t j0, int64_t cols, int64_t d, float* HWY_RESTRICT s, int64_t lds) {
  const int64_t first_panel = j0 / KeyPanelWidth();
  ForEachRowBlock(rows, [&](auto block_rows, int64_t r0) {
    ScoresRows<decltype(block_rows)::value>(q + r0 * ldq, ldq, packed, first_panel, cols, d, s + r0 * lds, lds);
  });
}

// O block (kRows, 2 vectors) += P rows (kRows, keys) times V columns (keys, 2 vectors).
template <int kRows>
HWY_INLINE void ValuesBlock(const float* HWY_RESTRICT p, int64_t ldp, int64_t keys, const float* HWY_RESTRICT v,
                            int64_t ldv, float* HWY_RESTRICT o, int64_t ldo) {
  static_assert(kRows >= 1 && kRows <= kBlockRows);
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  ATTEND_FOR_EACH_BLOCK_ROW(ATTEND_DECLARE_ROW)
#define ATTEND_LOAD_ROW(i)                                 \
  if constexpr (kRows > i) {                               \
    low##i = hn::LoadU(df, o + i * ldo);                   \
    high##i = hn::LoadU(df, o + i * ldo + lanes);          \
  }
  ATTEND_FOR_EACH_BLOCK_ROW(ATTEND_LOAD_ROW)
#undef ATTEND_LOAD_ROW
  for (int64_t j = 0; j < keys; ++j) {
    const auto b0 = hn::LoadU(df, v + j * ldv);
    const auto b1 = hn::LoadU(df, v + j * ldv + lanes);
#define ATTEND_VALUES_ROW(i)                        \
  if constexpr (kRows > i) {                        \
    const auto a = hn::Set(df, p[i * ldp + j]);     \
    low##i = hn::MulAdd(a, b0, low##i);             \
    high##i = hn::MulAdd(a, b1, high##i);           \
  }
    ATTEND_FOR_EACH_BLOCK_ROW(ATTEND_VALUES_ROW)
#undef ATTEND_VALUES_ROW
  }
#define ATTEND_STORE_ROW(i)                          \
  if constexpr (kRows > i) {                         \
    hn::StoreU(low##i, df, o + i * ldo);             \
    hn::StoreU(high##i, df, o + i * ldo + lanes);    \
  }
  ATTEND_FOR_EACH_BLOCK_ROW(ATTEND_STORE_ROW)
#undef ATTEND_STORE_ROW
}

#undef ATTEND_DECLARE_ROW
#undef ATTEND_FOR_EACH_BLOCK_ROW

template <int kRows>
void ValuesRows(const float* p, int64_t ldp, int64_t keys, const float* v, int64_t ldv, int64_t dv, float* o,
                int64_t ldo) {
  const int64_t width = KeyPanelWidth();
  int64_t c0 = 0;
  for (; c0 + width <= dv; c0 += width) ValuesBlock<kRows>(p, ldp, keys, v + c0, ldv, o + c0, ldo);
  // Columns past the last whole pair of vectors: the same chain per element, scalar.
  for (int i = 0; i < kRows; ++i) {
    for (int64_t c = c0; c < dv; ++c) {
      float sum = o[i * ldo + c];
      for (int64_t j = 0; j < keys; ++j) sum = std::fma(p[i * ldp + j], v[j * ldv + c], sum);
      o[i * ldo + c] = sum;
    }
  }
}

void AccumulateProbabilitiesTimesValues(const float* HWY_RESTRICT p, int64_t ldp, int64_t rows, int64_t keys,
                                        const float* HWY_RESTRICT v, int64_t ldv, int64_t dv, float* HWY_RESTRICT o,
                                        int64_t ldo) {
  ForEachRowBlock(rows, [&](auto block_rows, int64_t r0) {
    ValuesRows<decltype(block_rows)::value>(p + r0 * ldp, ldp, keys, v, ldv, dv, o + r0 * ldo, ldo);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(KeyPanelWidth);
HWY_EXPORT(PackKeyPanels);
HWY_EXPORT(ScoresFromPackedKeys);
HWY_EXPORT(AccumulateProbabilitiesTimesValues);

int64_t key_panel_width() { return HWY_DYNAMIC_DISPATCH(KeyPanelWidth)(); }

int64_t packed_keys_size(int64_t keys, int64_t d) {
  const int64_t width = key_panel_width();
  return (keys + width - 1) / width * width * d;
}

void pack_key_panels(const float* k, int64_t ldk, int64_t keys, int64_t d, float* packed) {
  HWY_DYNAMIC_DISPATCH(PackKeyPanels)(k, ldk, keys, d, packed);
}

void scores_from_packed_keys(const float* q, int64_t ldq, int64_t rows, const float* packed, int64_t j0,
                             int64_t cols, int64_t d, float* s, int64_t lds) {
  HWY_DYNAMIC_DISPATCH(ScoresFromPackedKeys)(q, ldq, rows, packed, j0, cols, d, s, lds);
}

void accumulate_probabilities_times_values(const float* p, int64_t ldp, int64_t rows, int64_t keys, const float* v,
                                           int64_t ldv, int64_t dv, float* o, int64_t ldo) {
  HWY_DYNAMIC_DISPATCH(AccumulateProbabilitiesTimesValues)(p, ldp, rows, keys, v, ldv, dv, o, ldo);
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
