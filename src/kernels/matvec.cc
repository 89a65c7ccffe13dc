// Compiled once per SIMD target by Highway's foreach_target; matvec_rows dispatches at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/matvec.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>

#include "attend/core/parallel.h"
#include "kernels/matvec.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// y_r = W_r . x for kRows rows r of W starting at w (one vector accumulator each), in the order
// every row uses: lanes over i, then the sum of the lanes, then the scalar tail.
template <int kRows>
void DotRows(const float* HWY_RESTRICT w, int64_t in, const float* HWY_RESTRICT x, float* HWY_RESTRICT y,
             int64_t y_stride) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  decltype(hn::Zero(d)) sums[kRows];
  for (int r = 0; r < kRows; ++r) sums[r] = hn::Zero(d);
  int64_t i = 0;
  for (; i + lanes <= in; i += lanes) {
    const auto xv = hn::LoadU(d, x + i);
    for (int r = 0; r < kRows; ++r) sums[r] = hn::MulAdd(hn::LoadU(d, w + r * in + i), xv, sums[r]);
  }
  for (int r = 0; r < kRows; ++r) {
    float total = hn::GetLane(hn::SumOfLanes(d, sums[r]));
    for (int64_t j = i; j < in; ++j) total += w[r * in + j] * x[j];
    y[r * y_stride] = total;
  }
}

// Rows [begin, end) of W against every row of x.
void MatVecRowRange(const float* HWY_RESTRICT w, int64_t out, int64_t in, const float* HWY_RESTRICT x, int64_t batch,
                    float* HWY_RESTRICT y, int64_t begin, int64_t end) {
  for (int64_t b = 0; b < batch; ++b) {
    int64_t o = begin;
    for (; o + 4 <= end; o += 4) DotRows<4>(w + o * in, in, x + b * in, y + b * out + o, 1);
    for (; o < end; ++o) DotRows<1>(w + o * in, in, x + b * in, y + b * out + o, 1);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(MatVecRowRange);

void matvec_rows(const float* w, int64_t out, int64_t in, const float* x, int64_t batch, float* y) {
  // Chunks of whole 4-row groups, large enough that a thread's share of W streams (>= 64 KB).
  const int64_t grain = std::max<int64_t>(16, 16384 / std::max<int64_t>(in, 1)) / 4 * 4;
  parallel_for((out + 3) / 4, grain / 4, [&](int64_t begin, int64_t end) {
    HWY_DYNAMIC_DISPATCH(MatVecRowRange)(w, out, in, x, batch, y, begin * 4, std::min(out, end * 4));
  });
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
