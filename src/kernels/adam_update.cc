// Compiled once per SIMD target by Highway's foreach_target; adam_update dispatches at run time.
// src/CMakeLists.txt compiles this file with -ffp-contract=off: no fused multiply-adds.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/adam_update.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <cmath>

#include "kernels/adam_update.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The header's update, written once for a scalar and once for vectors, in the same order of
// operations so that both round alike.
inline void AdamScalar(const AdamConstants& c, float& parameter, float gradient, float& first_moment,
                       float& second_moment) {
  double p = parameter;
  double g = gradient;
  if (c.weight_decay != 0) {
    if (c.decoupled) {
      p *= c.decay_factor;
    } else {
      g += c.weight_decay * p;
    }
  }
  const double m = c.beta1 * first_moment + (1 - c.beta1) * g;
  const double v = c.beta2 * second_moment + (1 - c.beta2) * g * g;
  first_moment = static_cast<float>(m);
  second_moment = static_cast<float>(v);
  p -= c.step_size * m / (std::sqrt(v) / c.bias_correction2_sqrt + c.eps);
  parameter = static_cast<float>(p);
}

void AdamUpdate(const AdamConstants& c, float* HWY_RESTRICT parameter, const float* HWY_RESTRICT gradient,
                float* HWY_RESTRICT first_moment, float* HWY_RESTRICT second_moment, int64_t n) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> df;  // as many floats as dd has doubles
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(dd));
  const auto beta1 = hn::Set(dd, c.beta1), one_minus_beta1 = hn::Set(dd, 1 - c.beta1);
  const auto beta2 = hn::Set(dd, c.beta2), one_minus_beta2 = hn::Set(dd, 1 - c.beta2);
  const auto step_size = hn::Set(dd, c.step_size), correction = hn::Set(dd, c.bias_correction2_sqrt);
  const auto eps = hn::Set(dd, c.eps), weight_decay = hn::Set(dd, c.weight_decay);
  const auto decay_factor = hn::Set(dd, c.decay_factor);
  const bool decay = c.weight_decay != 0, decoupled = c.decoupled;
  int64_t e = 0;
  for (; e + lanes <= n; e += lanes) {
    auto p = hn::PromoteTo(dd, hn::LoadU(df, parameter + e));
    auto g = hn::PromoteTo(dd, hn::LoadU(df, gradient + e));
    if (decay) {
      if (decoupled) {
        p = hn::Mul(p, decay_factor);
      } else {
        g = hn::Add(g, hn::Mul(weight_decay, p));
      }
    }
    const auto m =
        hn::Add(hn::Mul(beta1, hn::PromoteTo(dd, hn::LoadU(df, first_moment + e))), hn::Mul(one_minus_beta1, g));
    const auto v = hn::Add(hn::Mul(beta2, hn::PromoteTo(dd, hn::LoadU(df, second_moment + e))),
                           hn::Mul(hn::Mul(one_minus_beta2, g), g));
    hn::StoreU(hn::DemoteTo(df, m), df, first_moment + e);
    hn::StoreU(hn::DemoteTo(df, v), df, second_moment + e);
    const auto denominator = hn::Add(hn::Div(hn::Sqrt(v), correction), eps);
    p = hn::Sub(p, hn::Div(hn::Mul(step_size, m), denominator));
    hn::StoreU(hn::DemoteTo(df, p), df, parameter + e);
  }
  for (; e < n; ++e) AdamScalar(c, parameter[e], gradient[e], first_moment[e], second_moment[e]);
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(AdamUpdate);

void adam_update(const AdamConstants& c, float* parameter, const float* gradient, float* first_moment,
                 float* second_moment, int64_t n) {
  HWY_DYNAMIC_DISPATCH(AdamUpdate)(c, parameter, gradient, first_moment, second_moment, n);
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
