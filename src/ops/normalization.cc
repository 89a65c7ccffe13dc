#include "attend/ops/normalization.h"

#include <cmath>
#include <vector>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/ops/reduction.h"
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

// layer_norm of s = x, or of s = (x + residual) + addend (addend broadcast over the rows) when
// residual is given: the sum formed a few rows at a time into a scratch block, never stored.
template <typename T>
Tensor<T> layer_norm_of_sum(const char* op, const Tensor<T>& x, const Tensor<T>& residual, const Tensor<T>& addend,
                            const Shape& normalized_shape, const Tensor<T>& weight, const Tensor<T>& bias, double eps) {
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  const bool fits = k <= x.rank() && std::equal(normalized_shape.begin(), normalized_shape.end(), x.shape().end() - k);
  ATTEND_CHECK(fits, ShapeError, "{}: input of shape {} does not end with normalized_shape {}", op,
               shape_string(x.shape()), shape_string(normalized_shape));
  for (const Tensor<T>* p : {&weight, &bias}) {
    ATTEND_CHECK(!p->defined() || p->shape() == normalized_shape, ShapeError,
                 "{}: {} of shape {} must have normalized_shape {}", op, p == &weight ? "weight" : "bias",
                 shape_string(p->shape()), shape_string(normalized_shape));
  }
  ATTEND_CHECK(eps >= 0, ValueError, "{}: eps must be non-negative, got {}", op, eps);
  const int64_t d = shape_numel(normalized_shape);
  ATTEND_CHECK(d > 0, ShapeError, "{}: normalized_shape {} is empty", op, shape_string(normalized_shape));
  const bool summed = residual.defined();
  ATTEND_CHECK(!summed || residual.shape() == x.shape(), ShapeError, "{}: residual {} must have the shape of x {}", op,
               shape_string(residual.shape()), shape_string(x.shape()));
  ATTEND_CHECK(!addend.defined() || addend.shape() == normalized_shape, ShapeError,
               "{}: the added bias {} must have normalized_shape {}", op, shape_string(addend.shape()),
               shape_string(normalized_shape));
  const int64_t rows = x.numel() / d;

  const Tensor<T> input = x.detach().contiguous();                                                // (rows, d)
  const Tensor<T> residual_values = summed ? residual.detach().contiguous() : Tensor<T>();        // (rows, d)
  const Tensor<T> addend_values = addend.defined() ? addend.detach().contiguous() : Tensor<T>();  // (d)
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
  const T* added = summed ? residual_values.data() : nullptr;
  const T* added_row = addend.defined() ? addend_values.data() : nullptr;
  parallel_for(rows, std::max<int64_t>(1, 1024 / d), [&](int64_t begin, int64_t end) {
    if (!summed) {
      layer_norm_forward_rows(in + begin * d, gamma, beta, end - begin, d, eps, out_data + begin * d,
                              xhat_data + begin * d, rstd_data + begin);
      return;
    }
    // s = (x + residual) + addend, kScratchRows rows at a time
    constexpr int64_t kScratchRows = 8;
    std::vector<T> sum(static_cast<size_t>(std::min(kScratchRows, end - begin) * d));
    for (int64_t r0 = begin; r0 < end; r0 += kScratchRows) {
      const int64_t count = std::min(kScratchRows, end - r0);
      for (int64_t r = 0; r < count; ++r) {
        const T* x_row = in + (r0 + r) * d;
        const T* residual_row = added + (r0 + r) * d;
        T* sum_row = sum.data() + r * d;
        if (added_row != nullptr) {
          for (int64_t c = 0; c < d; ++c) sum_row[c] = (x_row[c] + residual_row[c]) + added_row[c];
        } else {
          for (int64_t c = 0; c < d; ++c) sum_row[c] = x_row[c] + residual_row[c];
        }
      }
      layer_norm_forward_rows(sum.data(), gamma, beta, count, d, eps, out_data + r0 * d, xhat_data + r0 * d,
                              rstd_data + r0);
    }
  });

  return record_op<T>(op, out, {x, weight, bias, residual, addend},
                      [normalized, inverse_std, w, rows, d, has_w = weight.defined(), has_b = bias.defined(), summed,
                       has_addend = addend.defined(), addend_shape = normalized_shape](const Tensor<T>& g) {
                        const Tensor<T> dy = g.contiguous();  // (rows, d)
                        const T* gy = dy.data();
                        const T* xhat = normalized.data();
                        const T* gamma = w.data();
                        const T* rstd_data = inverse_std.data();
                        // forward: y = xhat * w + b, xhat = (s - mu) * rstd, s = x (+ residual + addend)
                        //   dxhat = dy * w
                        //   ds    = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
                        //   dx = d residual = ds;  d addend = sum over rows of ds
                        Tensor<T> dx = Tensor<T>::empty(normalized.shape());
                        T* dx_data = dx.data();
                        parallel_for(rows, std::max<int64_t>(1, 1024 / d), [&](int64_t begin, int64_t end) {
                          layer_norm_backward_rows(gy + begin * d, xhat + begin * d, gamma, rstd_data + begin,
                                                   end - begin, d, dx_data + begin * d);
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
                        const Tensor<T> d_addend = has_addend ? sum_to(dx, addend_shape) : Tensor<T>();
                        return std::vector<Tensor<T>>{dx, has_w ? dw : Tensor<T>(), has_b ? db : Tensor<T>(),
                                                      summed ? dx : Tensor<T>(), d_addend};
                      });
}

template <typename T>
Tensor<T> layer_norm(const Tensor<T>& x, const Shape& normalized_shape, const Tensor<T>& weight, const Tensor<T>& bias,
                     double eps) {
  return layer_norm_of_sum<T>("layer_norm", x, Tensor<T>(), Tensor<T>(), normalized_shape, weight, bias, eps);
}

template <typename T>
Tensor<T> add_layer_norm(const Tensor<T>& x, const Tensor<T>& residual, const Tensor<T>& addend,
                         const Shape& normalized_shape, const Tensor<T>& weight, const Tensor<T>& bias, double eps) {
  ATTEND_CHECK(residual.defined(), ValueError, "add_layer_norm: the residual is undefined");
  return layer_norm_of_sum("add_layer_norm", x, residual, addend, normalized_shape, weight, bias, eps);
}

template Tensor<float> layer_norm(const Tensor<float>&, const Shape&, const Tensor<float>&, const Tensor<float>&,
                                  double);
template Tensor<double> layer_norm(const Tensor<double>&, const Shape&, const Tensor<double>&, const Tensor<double>&,
                                   double);
template Tensor<float> add_layer_norm(const Tensor<float>&, const Tensor<float>&, const Tensor<float>&, const Shape&,
                                      const Tensor<float>&, const Tensor<float>&, double);
template Tensor<double> add_layer_norm(const Tensor<double>&, const Tensor<double>&, const Tensor<double>&,
                                       const Shape&, const Tensor<double>&, const Tensor<double>&, double);

}  // namespace attend
