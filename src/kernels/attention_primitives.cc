// Compiled once per SIMD target by Highway's foreach_target; the public functions at the end
// dispatch to the best target at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/attention_primitives.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#include <immintrin.h>
#endif

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

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL

// exp(x) on AVX-512, the softmax's exp (half the instructions of Highway's Exp, which builds
// 2^n from integer shifts and blends its range checks in):
//
//   y = max(l, x)                     l = -87.33654: exp(l) is the smallest normal float, 1.2e-38
//   n = round(y / ln 2)                                        vrndscaleps
//   r = y - n ln 2                    in two steps (ln 2 = c_hi + c_lo), |r| <= ln 2 / 2
//   exp(r) = 1 + r + r^2 (k0 + k1 r + ... + k5 r^5)            Highway's minimax coefficients
//   exp(y) = exp(r) 2^n                                         vscalefps (overflow to inf)
//   exp(x) = x < l ? 0 : exp(y)       NaN stays NaN (the compare is unordered-true)
//
// Results below the smallest normal float are 0: a denormal or underflowing result costs a
// microcode assist of ~100 cycles on Intel cores (the masked -inf scores of a causal tile took
// the forward from 1.6 to 2.4 ms at N = 512 before this), and softmax weights that small are
// nothing next to the row's largest, 1. Within 1 ulp of exp above that (0.93 measured;
// tests/attention: AttentionPrimitives.ExpIsWithinOneUlp); the bits differ from the other
// targets' (which the kernels allow: the same bits for any split of the work on one target).
template <class D, class V>
HWY_INLINE V ExpKeepNaN(D, V x) {
  const __m512 lowest = _mm512_set1_ps(-87.33654f);                       // ln(smallest normal float), rounded up
  const __mmask16 kept = _mm512_cmp_ps_mask(x.raw, lowest, _CMP_NLT_UQ);  // x >= lowest, or NaN
  const __m512 y = _mm512_max_ps(lowest, x.raw);                          // NaN in the second operand stays
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(y, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-0.693145751953125f), y);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(-1.428606765330187045e-6f), r);
  __m512 q = _mm512_set1_ps(0.000198527617612853646278381f);
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.00139304355252534151077271f));
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.00833336077630519866943359f));
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.0416664853692054748535156f));
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.166666671633720397949219f));
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.5f));
  const __m512 p = _mm512_add_ps(_mm512_fmadd_ps(q, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  return V{_mm512_maskz_scalef_ps(kept, p, n)};
}

#else

// exp(x) with NaN kept: Highway's Exp maps NaN to 0, which would hide a NaN input.
template <class D, class V>
HWY_INLINE V ExpKeepNaN(D d, V x) {
  return hn::IfThenElse(hn::IsNaN(x), x, hn::Exp(d, x));
}

#endif

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
