// Compiled once per SIMD target by Highway's foreach_target; softmax_float64.h's functions
// dispatch at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/softmax_float64.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>

#include "kernels/softmax_float64.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DD = hn::ScalableTag<double>;

// x_i = (double) l_i, half a float vector at a time; NaN or +inf anywhere refuses the row
// (not (l < +inf)), any l > -inf sets *any_finite.
bool WidenLogits(const float* HWY_RESTRICT logits, int64_t n, double* HWY_RESTRICT x, bool* any_finite) {
  const DD d;
  const hn::Rebind<float, DD> df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto plus_inf = hn::Set(df, HUGE_VALF), minus_inf = hn::Set(df, -HUGE_VALF);
  // Lanes that saw a refused or a finite logit, as all-ones bit patterns.
  auto refused = hn::Zero(df), finite = hn::Zero(df);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto l = hn::LoadU(df, logits + i);
    refused = hn::Or(refused, hn::VecFromMask(df, hn::Not(hn::Lt(l, plus_inf))));
    finite = hn::Or(finite, hn::VecFromMask(df, hn::Gt(l, minus_inf)));
    hn::StoreU(hn::PromoteTo(d, l), d, x + i);
  }
  bool ok = hn::AllFalse(df, hn::MaskFromVec(refused)), seen = !hn::AllFalse(df, hn::MaskFromVec(finite));
  for (; i < n; ++i) {
    ok = ok && logits[i] < HUGE_VALF;
    seen = seen || logits[i] > -HUGE_VALF;
    x[i] = logits[i];
  }
  *any_finite = seen;
  return ok;
}

// max_i x_i: one running maximum per lane, then across lanes.
double Largest(const double* HWY_RESTRICT x, int64_t n) {
  const DD d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  double result = x[0];
  int64_t i = 0;
  if (n >= lanes) {
    auto running = hn::LoadU(d, x);
    for (i = lanes; i + lanes <= n; i += lanes) running = hn::Max(running, hn::LoadU(d, x + i));
    result = hn::GetLane(hn::MaxOfLanes(d, running));
  }
  for (; i < n; ++i) result = std::max(result, x[i]);
  return result;
}

// exp((x - m) c) of one vector; -inf (a masked token) gives 0 exactly, outside Exp's domain.
template <class V>
HWY_INLINE V ExpScaledShiftedOf(DD d, V x, V m, V c) {
  const V exponent = hn::Mul(hn::Sub(x, m), c);
  return hn::IfThenZeroElse(hn::Eq(x, hn::Set(d, -HUGE_VAL)), hn::Exp(d, exponent));
}

// x_i <- exp((x_i - shift) scale), the tail through a padded vector so that every element takes
// the same Exp.
void ExpScaledShifted(double* HWY_RESTRICT x, int64_t n, double shift, double scale) {
  const DD d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto m = hn::Set(d, shift), c = hn::Set(d, scale);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(ExpScaledShiftedOf(d, hn::LoadU(d, x + i), m, c), d, x + i);
  if (i < n) {
    HWY_ALIGN double tail[hn::MaxLanes(d)] = {};
    std::copy(x + i, x + n, tail);
    hn::Store(ExpScaledShiftedOf(d, hn::Load(d, tail), m, c), d, tail);
    std::copy_n(tail, n - i, x + i);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(WidenLogits);
HWY_EXPORT(Largest);
HWY_EXPORT(ExpScaledShifted);

bool widen_logits(const float* logits, int64_t n, double* x, bool* any_finite) {
  return HWY_DYNAMIC_DISPATCH(WidenLogits)(logits, n, x, any_finite);
}

double largest(const double* x, int64_t n) { return HWY_DYNAMIC_DISPATCH(Largest)(x, n); }

void exp_scaled_shifted(double* x, int64_t n, double shift, double scale) {
  HWY_DYNAMIC_DISPATCH(ExpScaledShifted)(x, n, shift, scale);
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
