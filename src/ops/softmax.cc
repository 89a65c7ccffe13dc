#include "attend/ops/softmax.h"

#include <cmath>
#include <algorithm>
#include <limits>

#include "attend/core/autograd.h"
#include "attend/core/parallel.h"
#include "ops/rows.h"

namespace attend {
namespace {

// y[r, :] = softmax(x[r, :]) or log_softmax(x[r, :]) for rows of length n.
template <typename T>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n, bool log) {
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  parallel_for(rows, std::max<int64_t>(1, 2048 / std::max<int64_t>(n, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* xr = x + r * n;
      T* yr = y + r * n;
      T row_max = kNegInf;
      bool has_nan = false;
      for (int64_t i = 0; i < n; ++i) {
        row_max = std::max(row_max, xr[i]);
        has_nan |= std::isnan(xr[i]);
      }
      if (has_nan) {
        // std::max skips NaN, so a row of NaN and -inf would look fully masked: NaN wins.
        std::fill_n(yr, n, std::numeric_limits<T>::quiet_NaN());
        continue;
      }
      if (row_max == kNegInf) {
        // Fully masked row: zero probabilities.
        for (int64_t i = 0; i < n; ++i) yr[i] = log ? kNegInf : T(0);
        continue;
      }
      double total = 0.0;
      for (int64_t i = 0; i < n; ++i) total += std::exp(static_cast<double>(xr[i] - row_max));
      if (log) {
        const T log_total = static_cast<T>(std::log(total));
        for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] - row_max - log_total;
      } else {
        const double inverse = 1.0 / total;
        for (int64_t i = 0; i < n; ++i)
          yr[i] = static_cast<T>(std::exp(static_cast<double>(xr[i] - row_max)) * inverse);
      }
    }
  });
}

// Backward of softmax_rows, per row:
//   softmax:     dx = y * (dy - sum(dy * y))
//   log_softmax: dx = dy - exp(y) * sum(dy), and 0 on fully masked rows
template <typename T>
void softmax_rows_backward(const T* y, const T* dy, T* dx, int64_t rows, int64_t n, bool log) {
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  parallel_for(rows, std::max<int64_t>(1, 2048 / std::max<int64_t>(n, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* yr = y + r * n;
      const T* dyr = dy + r * n;
      T* dxr = dx + r * n;
      if (log) {
        if (n > 0 && yr[0] == kNegInf &&
            std::all_of(yr, yr + n, [](T v) { return v == -std::numeric_limits<T>::infinity(); })) {
          std::fill_n(dxr, n, T(0));
          continue;
        }
        double total = 0.0;
        for (int64_t i = 0; i < n; ++i) total += dyr[i];
        for (int64_t i = 0; i < n; ++i) dxr[i] = static_cast<T>(dyr[i] - std::exp(static_cast<double>(yr[i])) * total);
      } else {
        double dot = 0.0;
        for (int64_t i = 0; i < n; ++i) dot += static_cast<double>(dyr[i]) * yr[i];
        for (int64_t i = 0; i < n; ++i) dxr[i] = static_cast<T>(yr[i] * (dyr[i] - dot));
      }
    }
  });
}

template <typename T>
Tensor<T> softmax_impl(const Tensor<T>& x, int64_t axis_in, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  const int axis = normalize_axis(axis_in, x.rank(), name);
  const Tensor<T> rows = detail::rows_along(x, axis);
  const int64_t n = rows.rank() == 0 ? 1 : rows.size(-1);
  const int64_t count = n == 0 ? 0 : rows.numel() / n;
  Tensor<T> y_rows = Tensor<T>::empty(rows.shape());
  softmax_rows(rows.data(), y_rows.data(), count, n, log);
  Tensor<T> out = detail::from_rows(y_rows, axis);
  return record_op<T>(name, out, {x}, [y_rows, axis, n, count, log](const Tensor<T>& g) {
    const Tensor<T> dy = detail::rows_along(g, axis);
    Tensor<T> dx = Tensor<T>::empty(dy.shape());
    softmax_rows_backward(y_rows.data(), dy.data(), dx.data(), count, n, log);
    return std::vector<Tensor<T>>{detail::from_rows(dx, axis)};
  });
}

}  // namespace

template <typename T>
Tensor<T> softmax(const Tensor<T>& x, int64_t axis) {
  return softmax_impl(x, axis, false);
}

template <typename T>
Tensor<T> log_softmax(const Tensor<T>& x, int64_t axis) {
  return softmax_impl(x, axis, true);
}

template <typename T>
Tensor<T> logsumexp(const Tensor<T>& x, int64_t axis_in, bool keepdim) {
  const int axis = normalize_axis(axis_in, x.rank(), "logsumexp");
  const Tensor<T> rows = detail::rows_along(x, axis);
  const int64_t n = rows.size(-1);
  const int64_t count = n == 0 ? 0 : rows.numel() / n;
  Shape kept = x.shape();
  kept[axis] = 1;
  Tensor<T> lse = Tensor<T>::empty(kept);  // (..., 1, ...): one value per row
  Tensor<T> log_probs = Tensor<T>::empty(rows.shape());
  softmax_rows(rows.data(), log_probs.data(), count, n, true);
  if (n == 0) lse.fill(-std::numeric_limits<T>::infinity());
  // lse = x - log_softmax(x) at any entry; use the row's maximum for accuracy.
  const Tensor<T> lse_rows = detail::rows_along(lse, axis);  // same row order as `rows`
  for (int64_t r = 0; r < count; ++r) {
    const T* xr = rows.data() + r * n;
    const T* lr = log_probs.data() + r * n;
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i) best = xr[i] > xr[best] ? i : best;
    lse_rows.data()[r] = lr[best] == -std::numeric_limits<T>::infinity() ? lr[best] : xr[best] - lr[best];
    if (std::isnan(lr[best])) lse_rows.data()[r] = lr[best];
  }
  Tensor<T> out = detail::from_rows(lse_rows, axis);
  if (!keepdim) out = out.squeeze(axis);
  return record_op<T>("logsumexp", out, {x}, [log_probs, axis, kept](const Tensor<T>& g) {
    // forward: out = log sum exp(x);  d/dx = softmax(x) = exp(log_softmax(x)); 0 on masked rows
    const Tensor<T> g_rows = detail::rows_along(g.reshape(kept), axis);  // (..., 1)
    const Tensor<T> dx = Tensor<T>::empty(log_probs.shape());
    const int64_t n = log_probs.size(-1), total = log_probs.numel();
    const T* lp = log_probs.data();
    const T* gr = g_rows.data();
    T* d = dx.data();
    for (int64_t i = 0; i < total; ++i) d[i] = std::exp(lp[i]) * gr[i / n];
    return std::vector<Tensor<T>>{detail::from_rows(dx, axis)};
  });
}

template Tensor<float> logsumexp(const Tensor<float>&, int64_t, bool);
template Tensor<double> logsumexp(const Tensor<double>&, int64_t, bool);
template Tensor<float> softmax(const Tensor<float>&, int64_t);
template Tensor<double> softmax(const Tensor<double>&, int64_t);
template Tensor<float> log_softmax(const Tensor<float>&, int64_t);
template Tensor<double> log_softmax(const Tensor<double>&, int64_t);

}  // namespace attend
