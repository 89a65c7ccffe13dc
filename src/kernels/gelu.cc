// Compiled once per SIMD target by Highway's foreach_target; gelu.h's functions dispatch at run
// time. AVX-512 VNNI (AVX3_DL) is among the targets so that on such a CPU the arrays run the
// target the quantized products' GELU epilogue runs (gelu-inl.h): the same bits.
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/gelu.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include "kernels/gelu-inl.h"

#include "kernels/gelu.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// x[e] = in[e] (+ bias[e] when kBias): its loads, whole vectors and the tail alike.
template <bool kBias, class D>
HWY_INLINE hn::Vec<D> LoadInput(D d, const float* HWY_RESTRICT in, const float* HWY_RESTRICT bias, int64_t e) {
  if constexpr (kBias) return hn::Add(hn::LoadU(d, in + e), hn::LoadU(d, bias + e));
  return hn::LoadU(d, in + e);
}

template <bool kBias>
void GeluForwardOf(const float* HWY_RESTRICT in, const float* HWY_RESTRICT bias, int64_t n, float* HWY_RESTRICT out) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t e = 0;
  for (; e + lanes <= n; e += lanes) {
    const auto x = LoadInput<kBias>(d, in, bias, e);
    hn::StoreU(Gelu(d, x), d, out + e);
  }
  if (e < n) {  // the tail through a padded vector
    HWY_ALIGN float x_tail[hn::MaxLanes(d)] = {};
    HWY_ALIGN float out_tail[hn::MaxLanes(d)];
    for (int64_t i = e; i < n; ++i) x_tail[i - e] = kBias ? in[i] + bias[i] : in[i];
    const auto x = hn::Load(d, x_tail);
    hn::Store(Gelu(d, x), d, out_tail);
    for (int64_t i = e; i < n; ++i) out[i] = out_tail[i - e];
  }
}

void GeluForward(const float* HWY_RESTRICT in, int64_t n, float* HWY_RESTRICT out) {
  GeluForwardOf<false>(in, nullptr, n, out);
}

void GeluForwardBias(const float* HWY_RESTRICT in, const float* HWY_RESTRICT bias, int64_t n, float* HWY_RESTRICT out) {
  GeluForwardOf<true>(in, bias, n, out);
}

template <bool kBias>
void GeluBackwardOf(const float* HWY_RESTRICT in, const float* HWY_RESTRICT bias, const float* HWY_RESTRICT g,
                    int64_t n, float* HWY_RESTRICT dx) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto inv_sqrt_2pi = hn::Set(d, kInvSqrt2Pi);
  // forward: out = x Phi(x)  ->  d out / dx = Phi(x) + x phi(x)
  auto derivative = [&](hn::Vec<decltype(d)> x) {
    hn::Vec<decltype(d)> gaussian;
    const auto cdf = NormalCdf(d, x, gaussian);
    return hn::MulAdd(x, hn::Mul(inv_sqrt_2pi, gaussian), cdf);
  };
  int64_t e = 0;
  for (; e + lanes <= n; e += lanes) {
    hn::StoreU(hn::Mul(hn::LoadU(d, g + e), derivative(LoadInput<kBias>(d, in, bias, e))), d, dx + e);
  }
  if (e < n) {
    HWY_ALIGN float x_tail[hn::MaxLanes(d)] = {};
    HWY_ALIGN float g_tail[hn::MaxLanes(d)] = {};
    HWY_ALIGN float dx_tail[hn::MaxLanes(d)];
    for (int64_t i = e; i < n; ++i) {
      x_tail[i - e] = kBias ? in[i] + bias[i] : in[i];
      g_tail[i - e] = g[i];
    }
    hn::Store(hn::Mul(hn::Load(d, g_tail), derivative(hn::Load(d, x_tail))), d, dx_tail);
    for (int64_t i = e; i < n; ++i) dx[i] = dx_tail[i - e];
  }
}

void GeluBackward(const float* HWY_RESTRICT in, const float* HWY_RESTRICT g, int64_t n, float* HWY_RESTRICT dx) {
  GeluBackwardOf<false>(in, nullptr, g, n, dx);
}

void GeluBackwardBias(const float* HWY_RESTRICT in, const float* HWY_RESTRICT bias, const float* HWY_RESTRICT g,
                      int64_t n, float* HWY_RESTRICT dx) {
  GeluBackwardOf<true>(in, bias, g, n, dx);
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(GeluForward);
HWY_EXPORT(GeluBackward);
HWY_EXPORT(GeluForwardBias);
HWY_EXPORT(GeluBackwardBias);

void gelu_forward(const float* in, int64_t n, float* out) { HWY_DYNAMIC_DISPATCH(GeluForward)(in, n, out); }

void gelu_backward(const float* in, const float* g, int64_t n, float* dx) {
  HWY_DYNAMIC_DISPATCH(GeluBackward)(in, g, n, dx);
}
void gelu_forward_bias(const float* in, const float* bias, int64_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(GeluForwardBias)(in, bias, n, out);
}
void gelu_backward_bias(const float* in, const float* bias, const float* g, int64_t n, float* dx) {
  HWY_DYNAMIC_DISPATCH(GeluBackwardBias)(in, bias, g, n, dx);
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
