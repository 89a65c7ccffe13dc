// Compiled once per SIMD target by Highway's foreach_target; the functions of
// layer_norm_rows.h dispatch at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/layer_norm_rows.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <cmath>

#include "kernels/layer_norm_rows.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DD = hn::ScalableTag<double>;
using DF = hn::Rebind<float, DD>;  // as many floats as DD has doubles

// sum over i < d of term(i) in double: vector lanes over whole vectors, the remainder added to
// the lane total in order.
template <class VectorTerm, class ScalarTerm>
inline double SumRow(int64_t d, const VectorTerm& vector_term, const ScalarTerm& scalar_term) {
  const DD dd;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(dd));
  auto acc0 = hn::Zero(dd), acc1 = hn::Zero(dd);
  int64_t i = 0;
  for (; i + 2 * lanes <= d; i += 2 * lanes) {
    acc0 = hn::Add(acc0, vector_term(i));
    acc1 = hn::Add(acc1, vector_term(i + lanes));
  }
  if (i + lanes <= d) {
    acc0 = hn::Add(acc0, vector_term(i));
    i += lanes;
  }
  double total = hn::GetLane(hn::SumOfLanes(dd, hn::Add(acc0, acc1)));
  for (; i < d; ++i) total += scalar_term(i);
  return total;
}

void LayerNormForwardRows(const float* HWY_RESTRICT x, const float* HWY_RESTRICT gamma, const float* HWY_RESTRICT beta,
                          int64_t rows, int64_t d, double eps, float* HWY_RESTRICT out, float* HWY_RESTRICT xhat,
                          float* HWY_RESTRICT rstd) {
  const DD dd;
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(dd));
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    const double mu = SumRow(
                          d, [&](int64_t i) { return hn::PromoteTo(dd, hn::LoadU(df, xr + i)); },
                          [&](int64_t i) { return static_cast<double>(xr[i]); }) /
                      static_cast<double>(d);
    const auto mu_v = hn::Set(dd, mu);
    const double squares = SumRow(
        d,
        [&](int64_t i) {
          const auto centered = hn::Sub(hn::PromoteTo(dd, hn::LoadU(df, xr + i)), mu_v);
          return hn::Mul(centered, centered);
        },
        [&](int64_t i) { return (xr[i] - mu) * (xr[i] - mu); });
    const double inverse_std = 1.0 / std::sqrt(squares / static_cast<double>(d) + eps);
    rstd[r] = static_cast<float>(inverse_std);
    const auto rstd_v = hn::Set(dd, inverse_std);
    float* xhat_r = xhat + r * d;
    float* out_r = out + r * d;
    int64_t i = 0;
    for (; i + lanes <= d; i += lanes) {
      const auto normalized =
          hn::DemoteTo(df, hn::Mul(hn::Sub(hn::PromoteTo(dd, hn::LoadU(df, xr + i)), mu_v), rstd_v));
      hn::StoreU(normalized, df, xhat_r + i);
      hn::StoreU(hn::MulAdd(normalized, hn::LoadU(df, gamma + i), hn::LoadU(df, beta + i)), df, out_r + i);
    }
    for (; i < d; ++i) {
      const float normalized = static_cast<float>((xr[i] - mu) * inverse_std);
      xhat_r[i] = normalized;
      const hn::CappedTag<float, 1> d1;  // the vectors' MulAdd, one lane
      out_r[i] = hn::GetLane(hn::MulAdd(hn::Set(d1, normalized), hn::Set(d1, gamma[i]), hn::Set(d1, beta[i])));
    }
  }
}

void LayerNormBackwardRows(const float* HWY_RESTRICT dy, const float* HWY_RESTRICT xhat,
                           const float* HWY_RESTRICT gamma, const float* HWY_RESTRICT rstd, int64_t rows, int64_t d,
                           float* HWY_RESTRICT dx) {
  const DD dd;
  const DF df;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(dd));
  const auto inverse_d = 1.0 / static_cast<double>(d);
  for (int64_t r = 0; r < rows; ++r) {
    const float* dy_r = dy + r * d;
    const float* xhat_r = xhat + r * d;
    auto dxhat_v = [&](int64_t i) {
      return hn::Mul(hn::PromoteTo(dd, hn::LoadU(df, dy_r + i)), hn::PromoteTo(dd, hn::LoadU(df, gamma + i)));
    };
    auto dxhat_s = [&](int64_t i) { return static_cast<double>(dy_r[i]) * gamma[i]; };
    // forward: out = xhat * gamma + beta  ->  dxhat = dy * gamma
    const double mean_dxhat = SumRow(d, dxhat_v, dxhat_s) * inverse_d;
    const double mean_dxhat_xhat =
        SumRow(
            d, [&](int64_t i) { return hn::Mul(dxhat_v(i), hn::PromoteTo(dd, hn::LoadU(df, xhat_r + i))); },
            [&](int64_t i) { return dxhat_s(i) * xhat_r[i]; }) *
        inverse_d;
    // forward: xhat = (x - mu) * rstd  ->  dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
    const double inverse_std = rstd[r];
    const auto rstd_v = hn::Set(dd, inverse_std), mean_v = hn::Set(dd, mean_dxhat);
    const auto mean_xhat_v = hn::Set(dd, mean_dxhat_xhat);
    float* dx_r = dx + r * d;
    int64_t i = 0;
    for (; i + lanes <= d; i += lanes) {
      const auto centered =
          hn::Sub(hn::Sub(dxhat_v(i), mean_v), hn::Mul(hn::PromoteTo(dd, hn::LoadU(df, xhat_r + i)), mean_xhat_v));
      hn::StoreU(hn::DemoteTo(df, hn::Mul(rstd_v, centered)), df, dx_r + i);
    }
    for (; i < d; ++i) {
      dx_r[i] = static_cast<float>(inverse_std * (dxhat_s(i) - mean_dxhat - xhat_r[i] * mean_dxhat_xhat));
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(LayerNormForwardRows);
HWY_EXPORT(LayerNormBackwardRows);

void layer_norm_forward_rows(const float* x, const float* gamma, const float* beta, int64_t rows, int64_t d, double eps,
                             float* out, float* xhat, float* rstd) {
  HWY_DYNAMIC_DISPATCH(LayerNormForwardRows)(x, gamma, beta, rows, d, eps, out, xhat, rstd);
}

void layer_norm_backward_rows(const float* dy, const float* xhat, const float* gamma, const float* rstd, int64_t rows,
                              int64_t d, float* dx) {
  HWY_DYNAMIC_DISPATCH(LayerNormBackwardRows)(dy, xhat, gamma, rstd, rows, d, dx);
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
