// rms_norm (attend/ops/normalization.h): rows of the last axis, the mean of squares in double.
#include <cmath>
#include <vector>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/ops/normalization.h"

namespace attend {
namespace {

// r = 1 / sqrt(mean(x^2) + eps);  y = w * (x * r)   for `rows` rows of d values
template <typename T>
void rms_norm_rows(const T* x, const T* w, int64_t rows, int64_t d, double eps, T* y, T* rstd) {
  for (int64_t row = 0; row < rows; ++row) {
    const T* xr = x + row * d;
    double squares = 0.0;
    for (int64_t i = 0; i < d; ++i) squares += static_cast<double>(xr[i]) * xr[i];
    const T r = static_cast<T>(1.0 / std::sqrt(squares / static_cast<double>(d) + eps));
    rstd[row] = r;
    for (int64_t i = 0; i < d; ++i) y[row * d + i] = w[i] * (xr[i] * r);
  }
}

// forward: xhat = x * r, y = w * xhat
//   dxhat = dy * w;  dx = r * (dxhat - xhat * mean(dxhat * xhat))   (r depends on x through mean(x^2))
template <typename T>
void rms_norm_backward_rows(const T* dy, const T* x, const T* w, const T* rstd, int64_t rows, int64_t d, T* dx) {
  for (int64_t row = 0; row < rows; ++row) {
    const T r = rstd[row];
    double mean_product = 0.0;
    for (int64_t i = 0; i < d; ++i) mean_product += static_cast<double>(dy[row * d + i]) * w[i] * (x[row * d + i] * r);
    mean_product /= static_cast<double>(d);
    for (int64_t i = 0; i < d; ++i) {
      const double xhat = static_cast<double>(x[row * d + i]) * r;
      dx[row * d + i] = static_cast<T>(r * (static_cast<double>(dy[row * d + i]) * w[i] - xhat * mean_product));
    }
  }
}

// dw = sum over rows of dy * xhat, each column summed in row order (any thread count).
template <typename T>
Tensor<T> rms_norm_weight_gradient(const T* dy, const T* x, const T* rstd, int64_t rows, int64_t d) {
  Tensor<T> dw = Tensor<T>::empty({d});
  T* out = dw.data();
  parallel_for(d, 16, [&](int64_t begin, int64_t end) {
    std::vector<double> sums(static_cast<size_t>(end - begin), 0.0);
    for (int64_t row = 0; row < rows; ++row) {
      for (int64_t i = begin; i < end; ++i)
        sums[i - begin] += static_cast<double>(dy[row * d + i]) * (x[row * d + i] * rstd[row]);
    }
    for (int64_t i = begin; i < end; ++i) out[i] = static_cast<T>(sums[i - begin]);
  });
  return dw;
}

}  // namespace

template <typename T>
Tensor<T> rms_norm(const Tensor<T>& x, const Tensor<T>& weight, double eps) {
  ATTEND_CHECK(x.rank() >= 1 && x.shape().back() > 0, ShapeError, "rms_norm: x {} needs a non-empty last axis",
               shape_string(x.shape()));
  const int64_t d = x.shape().back(), rows = x.numel() / d;
  ATTEND_CHECK(!weight.defined() || weight.shape() == Shape{d}, ShapeError, "rms_norm: weight {} must be ({}) for x {}",
               shape_string(weight.shape()), d, shape_string(x.shape()));
  ATTEND_CHECK(eps > 0 && std::isfinite(eps), ValueError, "rms_norm: eps must be positive and finite, got {}", eps);
  const Tensor<T> input = x.detach().contiguous();                                             // (rows, d)
  const Tensor<T> w = weight.defined() ? weight.detach().contiguous() : Tensor<T>::ones({d});  // (d)
  Tensor<T> out = Tensor<T>::empty(x.shape());                                                 // (rows, d)
  Tensor<T> inverse_rms = Tensor<T>::empty({rows});                                            // (rows)
  parallel_for(rows, std::max<int64_t>(1, 1024 / d), [&](int64_t begin, int64_t end) {
    rms_norm_rows(input.data() + begin * d, w.data(), end - begin, d, eps, out.data() + begin * d,
                  inverse_rms.data() + begin);
  });
  return record_op<T>(
      "rms_norm", out, {x, weight}, [input, w, inverse_rms, rows, d, has_w = weight.defined()](const Tensor<T>& g) {
        const Tensor<T> dy = g.contiguous();  // (rows, d)
        Tensor<T> dx = Tensor<T>::empty(input.shape());
        parallel_for(rows, std::max<int64_t>(1, 1024 / d), [&](int64_t begin, int64_t end) {
          rms_norm_backward_rows(dy.data() + begin * d, input.data() + begin * d, w.data(), inverse_rms.data() + begin,
                                 end - begin, d, dx.data() + begin * d);
        });
        const Tensor<T> dw =
            has_w ? rms_norm_weight_gradient(dy.data(), input.data(), inverse_rms.data(), rows, d) : Tensor<T>();
        return std::vector<Tensor<T>>{dx, dw};
      });
}

template Tensor<float> rms_norm(const Tensor<float>&, const Tensor<float>&, double);
template Tensor<double> rms_norm(const Tensor<double>&, const Tensor<double>&, double);

}  // namespace attend
