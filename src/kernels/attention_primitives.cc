// Compiled once per SIMD target by Highway's foreach_target; the public functions at the end
// dispatch to the best target at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/attention_primitives.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include <cmath>
#include <limits>

#include "kernels/attention_primitives.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

float ScaleAndMax(float* HWY_RESTRICT x, int64_t n, float scale) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto vscale = hn::Set(d, scale);
  auto vmax = hn::Set(d, -std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto v = hn::Mul(hn::LoadU(d, x + i), vscale);
    hn::StoreU(v, d, x + i);
    vmax = hn::Max(vmax, v);
  }
  float result = hn::GetLane(hn::MaxOfLanes(d, vmax));
  for (; i < n; ++i) {
    x[i] *= scale;
    result = std::max(result, x[i]);
  }
  return result;
}

// exp(x) with NaN kept: Highway's Exp maps NaN to 0, which would hide a NaN input.
template <class D, class V>
HWY_INLINE V ExpKeepNaN(D d, V x) {
  return hn::IfThenElse(hn::IsNaN(x), x, hn::Exp(d, x));
}

float ExpAndSum(float* HWY_RESTRICT x, int64_t n, float max) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto vmax = hn::Set(d, max);
  auto vsum = hn::Zero(d);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto e = ExpKeepNaN(d, hn::Sub(hn::LoadU(d, x + i), vmax));
    hn::StoreU(e, d, x + i);
    vsum = hn::Add(vsum, e);
  }
  if (i < n) {
    // The tail through a padded vector: lanes past n load -inf and add exp(-inf) = 0.
    HWY_ALIGN float tail[hn::MaxLanes(d)];
    for (int64_t t = 0; t < lanes; ++t) tail[t] = i + t < n ? x[i + t] : -std::numeric_limits<float>::infinity();
    const auto e = ExpKeepNaN(d, hn::Sub(hn::Load(d, tail), vmax));
    hn::Store(e, d, tail);
    vsum = hn::Add(vsum, e);
    for (int64_t t = 0; i + t < n; ++t) x[i + t] = tail[t];
  }
  return hn::GetLane(hn::SumOfLanes(d, vsum));
}

float RowMax(const float* HWY_RESTRICT x, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  auto vmax0 = hn::Set(d, -std::numeric_limits<float>::infinity());
  auto vmax1 = vmax0;
  int64_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    vmax0 = hn::Max(vmax0, hn::LoadU(d, x + i));
    vmax1 = hn::Max(vmax1, hn::LoadU(d, x + i + lanes));
  }
  for (; i + lanes <= n; i += lanes) vmax0 = hn::Max(vmax0, hn::LoadU(d, x + i));
  float result = hn::GetLane(hn::MaxOfLanes(d, hn::Max(vmax0, vmax1)));
  for (; i < n; ++i) result = std::max(result, x[i]);
  return result;
}

float ExpScaledAndSum(float* HWY_RESTRICT x, int64_t n, float scale, float max) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto vscale = hn::Set(d, scale);
  const auto vmax = hn::Set(d, max);
  auto vsum = hn::Zero(d);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto e = ExpKeepNaN(d, hn::MulSub(hn::LoadU(d, x + i), vscale, vmax));
    hn::StoreU(e, d, x + i);
    vsum = hn::Add(vsum, e);
  }
  if (i < n) {
    HWY_ALIGN float tail[hn::MaxLanes(d)];
    for (int64_t t = 0; t < lanes; ++t) tail[t] = i + t < n ? x[i + t] : -std::numeric_limits<float>::infinity();
    const auto e = ExpKeepNaN(d, hn::MulSub(hn::Load(d, tail), vscale, vmax));
    hn::Store(e, d, tail);
    vsum = hn::Add(vsum, e);
    for (int64_t t = 0; i + t < n; ++t) x[i + t] = tail[t];
  }
  return hn::GetLane(hn::SumOfLanes(d, vsum));
}

void ScaleRow(float* HWY_RESTRICT x, int64_t n, float scale) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto vscale = hn::Set(d, scale);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(hn::Mul(hn::LoadU(d, x + i), vscale), d, x + i);
  for (; i < n; ++i) x[i] *= scale;
}

void AddScaledRow(float* HWY_RESTRICT y, const float* HWY_RESTRICT x, int64_t n, float a) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto va = hn::Set(d, a);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(hn::MulAdd(va, hn::LoadU(d, x + i), hn::LoadU(d, y + i)), d, y + i);
  for (; i < n; ++i) y[i] += a * x[i];
}

// The bodies of ExpScaledMinus and SoftmaxBackwardRow, for distinct or identical (in place)
// input and output rows: the exported forms below promise the compiler no aliasing
// (HWY_RESTRICT) only where there is none.
HWY_INLINE void ExpScaledMinusRow(const float* s, float* p, int64_t n, float scale, float lse) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto vscale = hn::Set(d, scale);
  const auto vlse = hn::Set(d, lse);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(ExpKeepNaN(d, hn::MulSub(hn::LoadU(d, s + i), vscale, vlse)), d, p + i);
  }
  for (; i < n; ++i) p[i] = std::exp(s[i] * scale - lse);
}

HWY_INLINE void SoftmaxBackwardOfRow(const float* p, const float* dp, float* ds, int64_t n, float delta) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto vdelta = hn::Set(d, delta);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(hn::Mul(hn::LoadU(d, p + i), hn::Sub(hn::LoadU(d, dp + i), vdelta)), d, ds + i);
  }
  for (; i < n; ++i) ds[i] = p[i] * (dp[i] - delta);
}

void ExpScaledMinus(const float* HWY_RESTRICT s, float* HWY_RESTRICT p, int64_t n, float scale, float lse) {
  ExpScaledMinusRow(s, p, n, scale, lse);
}

void ExpScaledMinusInPlace(float* HWY_RESTRICT x, int64_t n, float scale, float lse) {
  ExpScaledMinusRow(x, x, n, scale, lse);
}

void SoftmaxBackwardRow(const float* HWY_RESTRICT p, const float* HWY_RESTRICT dp, float* HWY_RESTRICT ds, int64_t n,
                        float delta) {
  SoftmaxBackwardOfRow(p, dp, ds, n, delta);
}

void SoftmaxBackwardRowInPlace(const float* HWY_RESTRICT p, float* HWY_RESTRICT dp, int64_t n, float delta) {
  SoftmaxBackwardOfRow(p, dp, dp, n, delta);
}

float Dot(const float* HWY_RESTRICT a, const float* HWY_RESTRICT b, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  auto vsum = hn::Zero(d);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) vsum = hn::MulAdd(hn::LoadU(d, a + i), hn::LoadU(d, b + i), vsum);
  float result = hn::GetLane(hn::SumOfLanes(d, vsum));
  for (; i < n; ++i) result += a[i] * b[i];
  return result;
}

const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(ScaleAndMax);
HWY_EXPORT(ExpAndSum);
HWY_EXPORT(ScaleRow);
HWY_EXPORT(AddScaledRow);
HWY_EXPORT(RowMax);
HWY_EXPORT(ExpScaledAndSum);
HWY_EXPORT(ExpScaledMinus);
HWY_EXPORT(ExpScaledMinusInPlace);
HWY_EXPORT(SoftmaxBackwardRow);
HWY_EXPORT(SoftmaxBackwardRowInPlace);
HWY_EXPORT(Dot);
HWY_EXPORT(TargetName);

float scale_and_max(float* x, int64_t n, float scale) { return HWY_DYNAMIC_DISPATCH(ScaleAndMax)(x, n, scale); }
float exp_and_sum(float* x, int64_t n, float max) { return HWY_DYNAMIC_DISPATCH(ExpAndSum)(x, n, max); }
void scale_row(float* x, int64_t n, float scale) { HWY_DYNAMIC_DISPATCH(ScaleRow)(x, n, scale); }
void add_scaled_row(float* y, const float* x, int64_t n, float a) { HWY_DYNAMIC_DISPATCH(AddScaledRow)(y, x, n, a); }
float row_max(const float* x, int64_t n) { return HWY_DYNAMIC_DISPATCH(RowMax)(x, n); }
float exp_scaled_and_sum(float* x, int64_t n, float scale, float max) {
  return HWY_DYNAMIC_DISPATCH(ExpScaledAndSum)(x, n, scale, max);
}
void exp_scaled_minus(const float* s, float* p, int64_t n, float scale, float lse) {
  HWY_DYNAMIC_DISPATCH(ExpScaledMinus)(s, p, n, scale, lse);
}
void exp_scaled_minus_in_place(float* x, int64_t n, float scale, float lse) {
  HWY_DYNAMIC_DISPATCH(ExpScaledMinusInPlace)(x, n, scale, lse);
}
void softmax_backward_row(const float* p, const float* dp, float* ds, int64_t n, float delta) {
  HWY_DYNAMIC_DISPATCH(SoftmaxBackwardRow)(p, dp, ds, n, delta);
}
void softmax_backward_row_in_place(const float* p, float* dp, int64_t n, float delta) {
  HWY_DYNAMIC_DISPATCH(SoftmaxBackwardRowInPlace)(p, dp, n, delta);
}
float dot(const float* a, const float* b, int64_t n) { return HWY_DYNAMIC_DISPATCH(Dot)(a, b, n); }
const char* simd_target_name() { return HWY_DYNAMIC_DISPATCH(TargetName)(); }

}  // namespace attend::kernels
#endif  // HWY_ONCE
