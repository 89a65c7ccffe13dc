// The GELU of gelu.h on one vector, per target like Highway's own -inl.h headers (include it
// after hwy/highway.h and hwy/contrib/math/math-inl.h in a foreach_target file): gelu.cc's
// arrays and the quantized products' epilogue (quantized_groups.cc) run the same instructions,
// so they give the same bits.
#if defined(ATTEND_KERNELS_GELU_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ATTEND_KERNELS_GELU_INL_H_
#undef ATTEND_KERNELS_GELU_INL_H_
#else
#define ATTEND_KERNELS_GELU_INL_H_
#endif

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Abramowitz & Stegun 7.1.26.
constexpr float kP = 0.3275911f;
constexpr float kA1 = 0.254829592f, kA2 = -0.284496736f, kA3 = 1.421413741f, kA4 = -1.453152027f, kA5 = 1.061405429f;
constexpr float kInvSqrt2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

// Phi(x) and exp(-x^2 / 2) for a vector of x:
//   z = |x| / sqrt 2,  tail = poly(t) exp(-z^2) = 1 - erf(z) = 2 Phi(-|x|)
//   Phi(x) = tail / 2 for x < 0, 1 - tail / 2 otherwise.
template <class D, class V = hn::Vec<D>>
HWY_INLINE V NormalCdf(D d, V x, V& gaussian) {
  const V z = hn::Mul(hn::Abs(x), hn::Set(d, kInvSqrt2));
  const V t = hn::Div(hn::Set(d, 1.0f), hn::MulAdd(hn::Set(d, kP), z, hn::Set(d, 1.0f)));
  V poly = hn::MulAdd(hn::Set(d, kA5), t, hn::Set(d, kA4));
  poly = hn::MulAdd(poly, t, hn::Set(d, kA3));
  poly = hn::MulAdd(poly, t, hn::Set(d, kA2));
  poly = hn::MulAdd(poly, t, hn::Set(d, kA1));
  poly = hn::Mul(poly, t);
  gaussian = hn::Exp(d, hn::Neg(hn::Mul(z, z)));  // exp(-x^2 / 2)
  const V half_tail = hn::Mul(hn::Mul(poly, gaussian), hn::Set(d, 0.5f));
  return hn::IfThenElse(hn::Lt(x, hn::Zero(d)), half_tail, hn::Sub(hn::Set(d, 1.0f), half_tail));
}

// x Phi(x).
template <class D, class V = hn::Vec<D>>
HWY_INLINE V Gelu(D d, V x) {
  V gaussian;
  return hn::Mul(x, NormalCdf(d, x, gaussian));
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#endif  // ATTEND_KERNELS_GELU_INL_H_
