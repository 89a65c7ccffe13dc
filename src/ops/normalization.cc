#include "attend/ops/normalization.h"

#include <cmath>
#include <vector>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "kernels/layer_norm_rows.h"

namespace attend {

namespace {

// The row loops of layer_norm: float through the vectorized kernels (kernels/layer_norm_rows.h,
// the same math), double here, with the statistics summed in order.
void layer_norm_forward_rows(const float* x, const float* gamma, const float* beta, int64_t rows, int64_t d, double eps,
                             float* out, float* xhat, float* rstd) {
  kernels::layer_norm_forward_rows(x, gamma, beta, rows, d, eps, out, xhat, rstd);
}

void layer_norm_forward_rows(const double* x, const double* gamma, const double* beta, int64_t rows, int64_t d,
                             double eps, double* out, double* xhat, double* rstd) {
  for (int64_t r = 0; r < rows; ++r) {
    const double* xr = x + r * d;
    double total = 0.0;
    for (int64_t i = 0; i < d; ++i) total += xr[i];
    const double mu = total / d;
    double squares = 0.0;
    for (int64_t i = 0; i < d; ++i) squares += (xr[i] - mu) * (xr[i] - mu);
    rstd[r] = 1.0 / std::sqrt(squares / d + eps);
    for (int64_t i = 0; i < d; ++i) {
      xhat[r * d + i] = (xr[i] - mu) * rstd[r];
      out[r * d + i] = xhat[r * d + i] * gamma[i] + beta[i];
    }
  }
}

void layer_norm_backward_rows(const float* dy, const float* xhat, const float* gamma, const float* rstd, int64_t rows,
                              int64_t d, float* dx) {
  kernels::layer_norm_backward_rows(dy, xhat, gamma, rstd, rows, d, dx);
}

void layer_norm_backward_rows(const double* dy, const double* xhat, const double* gamma, const double* rstd,
                              int64_t rows, int64_t d, double* dx) {
  for (int64_t r = 0; r < rows; ++r) {
    double mean_dxhat = 0.0, mean_dxhat_xhat = 0.0;
    for (int64_t i = 0; i < d; ++i) {
      const double dxhat = dy[r * d + i] * gamma[i];
      mean_dxhat += dxhat;
      mean_dxhat_xhat += dxhat * xhat[r * d + i];
    }
    mean_dxhat /= d;
    mean_dxhat_xhat /= d;
    for (int64_t i = 0; i < d; ++i) {
      const double dxhat = dy[r * d + i] * gamma[i];
      dx[r * d + i] = rstd[r] * (dxhat - mean_dxhat - xhat[r * d + i] * mean_dxhat_xhat);
    }
  }
}

}  // namespace

template <typename T>
Tensor<T> layer_norm(const Tensor<T>& x, const Shape& normalized_shape, const Tensor<T>& weight, const Tensor<T>& bias,
                     double eps) {
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  const bool fits = k <= x.rank() && std::equal(normalized_shape.begin(), normalized_shape.end(), x.shape().end() - k);
  ATTEND_CHECK(fits, ShapeError, "layer_norm: input of shape {} does not end with normalized_shape {}",
               shape_string(x.shape()), shape_string(normalized_shape));
  for (const Tensor<T>* p : {&weight, &bias}) {
    ATTEND_CHECK(!p->defined() || p->shape() == normalized_shape, ShapeError,
                 "layer_norm: {} of shape {} must have normalized_shape {}", p == &weight ? "weight" : "bias",
                 shape_string(p->shape()), shape_string(normalized_shape));
  }
  ATTEND_CHECK(eps >= 0, ValueError, "layer_norm: eps must be non-negative, got {}", eps);
  const int64_t d = shape_numel(normalized_shape);
  ATTEND_CHECK(d > 0, ShapeError, "layer_norm: normalized_shape {} is empty", shape_string(normalized_shape));
  const int64_t rows = x.numel() / d;

  const Tensor<T> input = x.detach().contiguous();  // (rows, d)
  const Tensor<T> w = weight.defined() ? weight.detach().contiguous() : Tensor<T>::ones({d});
  const Tensor<T> b = bias.defined() ? bias.detach().contiguous() : Tensor<T>::zeros({d});
  Tensor<T> out = Tensor<T>::empty(x.shape());         // (rows, d)
  Tensor<T> normalized = Tensor<T>::empty(x.shape());  // x_hat, (rows, d)
  Tensor<T> inverse_std = Tensor<T>::empty({rows});    // (rows)
  const T* in = input.data();
  const T* gamma = w.data();
  const T* beta = b.data();
  T* out_data = out.data();
  T* xhat_data = normalized.data();
  T* rstd_data = inverse_std.data();
  parallel_for(rows, std::max<int64_t>(1, 1024 / d), [&](int64_t begin, int64_t end) {
    layer_norm_forward_rows(in + begin * d, gamma, beta, end - begin, d, eps, out_data + begin * d,
                            xhat_data + begin * d, rstd_data + begin);
  });

  return record_op<T>(
      "layer_norm", out, {x, weight, bias},
      [normalized, inverse_std, w, rows, d, has_w = weight.defined(), has_b = bias.defined()](const Tensor<T>& g) {
        const Tensor<T> dy = g.contiguous();  // (rows, d)
        const T* gy = dy.data();
        const T* xhat = normalized.data();
        const T* gamma = w.data();
        const T* rstd_data = inverse_std.data();
        // forward: y = xhat * w + b, xhat = (x - mu) * rstd
        //   dxhat = dy * w
        //   dx    = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
        Tensor<T> dx = Tensor<T>::empty(normalized.shape());
        T* dx_data = dx.data();
        parallel_for(rows, std::max<int64_t>(1, 1024 / d), [&](int64_t begin, int64_t end) {
          layer_norm_backward_rows(gy + begin * d, xhat + begin * d, gamma, rstd_data + begin, end - begin, d,
                                   dx_data + begin * d);
        });
        // dw = sum over rows of dy * xhat;  db = sum over rows of dy (each column summed in row order)
        Tensor<T> dw, db;
        if (has_w || has_b) {
          dw = Tensor<T>::empty(w.shape());
          db = Tensor<T>::empty(w.shape());
          T* dw_data = dw.data();
          T* db_data = db.data();
          // Columns split across threads; within a block of columns the rows are walked in order,
          // so each column's sum has the same order for any thread count.
          parallel_for(d, 16, [&](int64_t begin, int64_t end) {
            std::vector<double> sum_w(end - begin, 0.0), sum_b(end - begin, 0.0);
            for (int64_t r = 0; r < rows; ++r) {
              const T* gy_row = gy + r * d;
              const T* xhat_row = xhat + r * d;
              for (int64_t i = begin; i < end; ++i) {
                sum_w[i - begin] += static_cast<double>(gy_row[i]) * xhat_row[i];
                sum_b[i - begin] += gy_row[i];
              }
            }
            for (int64_t i = begin; i < end; ++i) {
              dw_data[i] = static_cast<T>(sum_w[i - begin]);
              db_data[i] = static_cast<T>(sum_b[i - begin]);
            }
          });
        }
        return std::vector<Tensor<T>>{dx, has_w ? dw : Tensor<T>(), has_b ? db : Tensor<T>()};
      });
}

template Tensor<float> layer_norm(const Tensor<float>&, const Shape&, const Tensor<float>&, const Tensor<float>&,
                                  double);
template Tensor<double> layer_norm(const Tensor<double>&, const Shape&, const Tensor<double>&, const Tensor<double>&,
                                   double);

}  // namespace attend
