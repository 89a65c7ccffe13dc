// Softmax and log-softmax over one axis.
//
// softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j (subtracting m avoids overflow).
// A row whose entries are all -inf (fully masked) gives zeros from softmax and -inf from
// log_softmax, with zero gradient, rather than NaN. A NaN anywhere in a row makes the whole
// row NaN.
#pragma once

#include "attend/core/tensor.h"

namespace attend {

template <typename T>
Tensor<T> softmax(const Tensor<T>& x, int64_t axis = -1);
template <typename T>
Tensor<T> log_softmax(const Tensor<T>& x, int64_t axis = -1);
// log(sum(exp(x))) over `axis`, computed as m + log(sum(exp(x - m))); -inf for a fully masked
// row (zero gradient there). Gradient: softmax(x) times the incoming gradient.
template <typename T>
Tensor<T> logsumexp(const Tensor<T>& x, int64_t axis = -1, bool keepdim = false);

}  // namespace attend
