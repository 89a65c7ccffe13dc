#include "attend/ops/loss.h"

#include <cmath>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/reduction.h"
#include "attend/ops/softmax.h"

namespace attend {

template <typename T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const IndexTensor& targets, const CrossEntropyOptions& options) {
  ATTEND_CHECK(logits.rank() >= 1, ShapeError, "cross_entropy: logits must have a class axis, got {}",
               shape_string(logits.shape()));
  const Shape expected(logits.shape().begin(), logits.shape().end() - 1);
  ATTEND_CHECK(targets.shape() == expected, ShapeError, "cross_entropy: logits {} need targets of shape {}, got {}",
               shape_string(logits.shape()), shape_string(expected), shape_string(targets.shape()));
  const double eps = options.label_smoothing;
  ATTEND_CHECK(eps >= 0.0 && eps <= 1.0, ValueError, "cross_entropy: label_smoothing must be in [0, 1], got {}", eps);
  const int64_t classes = logits.size(-1);
  ATTEND_CHECK(classes > 0, ShapeError, "cross_entropy: logits {} have no classes", shape_string(logits.shape()));
  const std::vector<int64_t> ids = targets.to_vector();
  int64_t counted = 0;
  for (int64_t t : ids) {
    if (t == options.ignore_index) continue;
    ATTEND_CHECK(t >= 0 && t < classes, ValueError, "cross_entropy: target {} is out of range [0, {})", t, classes);
    ++counted;
  }

  const int64_t rows = static_cast<int64_t>(ids.size());
  Tensor<T> log_probs;  // (rows, C)
  {
    NoGradGuard no_grad;
    log_probs = log_softmax(logits.detach().reshape({rows, classes}), -1).contiguous();
  }
  double total = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    if (ids[r] == options.ignore_index) continue;
    const T* lp = log_probs.data() + r * classes;
    double smooth = 0.0;
    if (eps > 0) {
      for (int64_t c = 0; c < classes; ++c) smooth += lp[c];
    }
    total += -(1.0 - eps) * lp[ids[r]] - eps / classes * smooth;
  }
  Tensor<T> out = Tensor<T>::scalar(counted == 0 ? T(0) : static_cast<T>(total / counted));
  return record_op<T>("cross_entropy", out, {logits},
                      [log_probs, ids, counted, eps, classes, rows, shape = logits.shape(),
                       ignore = options.ignore_index](const Tensor<T>& g) {
                        // forward: loss = mean_r [ -(1-eps) lp[r, y_r] - eps/C sum_c lp[r, c] ],  lp = log_softmax
                        //   dloss/dlogit[r, c] = (p[r, c] - (1-eps) [c == y_r] - eps/C) / counted
                        Tensor<T> grad = Tensor<T>::zeros({rows, classes});
                        if (counted > 0) {
                          const double scale = static_cast<double>(g.item()) / counted;
                          for (int64_t r = 0; r < rows; ++r) {
                            if (ids[r] == ignore) continue;
                            for (int64_t c = 0; c < classes; ++c) {
                              const double target = (c == ids[r] ? 1.0 - eps : 0.0) + eps / classes;
                              grad.data()[r * classes + c] = static_cast<T>(
                                  (std::exp(static_cast<double>(log_probs.data()[r * classes + c])) - target) * scale);
                            }
                          }
                        }
                        return std::vector<Tensor<T>>{grad.reshape(shape)};
                      });
}

template <typename T>
Tensor<T> mse_loss(const Tensor<T>& prediction, const Tensor<T>& target) {
  ATTEND_CHECK(prediction.shape() == target.shape(), ShapeError, "mse_loss: prediction {} and target {} differ",
               shape_string(prediction.shape()), shape_string(target.shape()));
  return mean(square(sub(prediction, target)));
}

template Tensor<float> cross_entropy(const Tensor<float>&, const IndexTensor&, const CrossEntropyOptions&);
template Tensor<double> cross_entropy(const Tensor<double>&, const IndexTensor&, const CrossEntropyOptions&);
template Tensor<float> mse_loss(const Tensor<float>&, const Tensor<float>&);
template Tensor<double> mse_loss(const Tensor<double>&, const Tensor<double>&);

}  // namespace attend
