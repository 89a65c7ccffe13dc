// Losses.
#pragma once

#include <cstdint>

#include "attend/core/tensor.h"

namespace attend {

struct CrossEntropyOptions {
  int64_t ignore_index = -100;   // targets equal to this contribute nothing
  double label_smoothing = 0.0;  // eps in [0, 1]: the target distribution is (1-eps) one-hot + eps/C
};

// Mean over non-ignored positions of  -(1 - eps) log p[target] - (eps / C) sum_c log p[c],
// p = softmax(logits) over the last axis. logits (..., C), targets (...) with values in [0, C)
// or ignore_index. When every target is ignored the loss is 0 (not NaN) with zero gradient.
template <typename T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const IndexTensor& targets, const CrossEntropyOptions& options = {});

// mean((prediction - target)^2); shapes must match exactly.
template <typename T>
Tensor<T> mse_loss(const Tensor<T>& prediction, const Tensor<T>& target);

}  // namespace attend
