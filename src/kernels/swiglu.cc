// Compiled once per SIMD target by Highway's foreach_target; swiglu_forward dispatches at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/swiglu.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include "kernels/swiglu.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// g / (1 + exp(-g)) * u for one vector; the clamp keeps exp finite (a NaN g stays NaN: the
// clamp's min/max would drop it, so it is put back).
template <class D, class V = hn::Vec<D>>
HWY_INLINE V SwigluOf(D d, V g, V u) {
  const V clamped = hn::Min(hn::Max(hn::Neg(g), hn::Set(d, -88.0f)), hn::Set(d, 88.0f));
  const V silu = hn::Div(g, hn::Add(hn::Set(d, 1.0f), hn::Exp(d, clamped)));
  return hn::Mul(hn::IfThenElse(hn::IsNaN(g), g, silu), u);
}

void SwigluForward(const float* HWY_RESTRICT gate, const float* HWY_RESTRICT up, int64_t n, float* HWY_RESTRICT out) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t e = 0;
  for (; e + lanes <= n; e += lanes) hn::StoreU(SwigluOf(d, hn::LoadU(d, gate + e), hn::LoadU(d, up + e)), d, out + e);
  if (e < n) {  // the tail through a padded vector
    HWY_ALIGN float g_tail[hn::MaxLanes(d)] = {};
    HWY_ALIGN float u_tail[hn::MaxLanes(d)] = {};
    HWY_ALIGN float out_tail[hn::MaxLanes(d)];
    for (int64_t i = e; i < n; ++i) g_tail[i - e] = gate[i], u_tail[i - e] = up[i];
    hn::Store(SwigluOf(d, hn::Load(d, g_tail), hn::Load(d, u_tail)), d, out_tail);
    for (int64_t i = e; i < n; ++i) out[i] = out_tail[i - e];
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(SwigluForward);

void swiglu_forward(const float* gate, const float* up, int64_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(SwigluForward)(gate, up, n, out);
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
