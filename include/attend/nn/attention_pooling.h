// AttentionPooling: the attention pooling of attention/attention_pooling.h with its parameters.
//
//   kLearnedQuery  s_n = x_n . w / sqrt(D)     w (D)                   Lee et al. 2019
//   kAdditive      s_n = u . tanh(W x_n + b)   W (A, D), b (A), u (A)  Yang et al. 2016
//   out = sum_n softmax(s)_n x_n               (B, N, D) -> (B, D)
#pragma once

#include <cstdint>

#include "attend/attention/attention_pooling.h"
#include "attend/core/random.h"
#include "attend/core/tensor.h"
#include "attend/nn/module.h"

namespace attend::nn {

template <typename T>
class AttentionPooling : public Module<T> {
 public:
  // kLearnedQuery: parameter "query" (D) ~ U(+-1/sqrt(D)); attention_dim must be 0 (unused).
  // kAdditive: "weight" (A, D) and "bias" (A) ~ U(+-1/sqrt(D)), "score_weight" (A) ~
  // U(+-1/sqrt(A)), PyTorch's Linear defaults; attention_dim = A > 0.
  AttentionPooling(PoolingMode mode, int64_t dim, Generator& generator, int64_t attention_dim = 0);

  // x (B, N, D), key_padding_mask (B, N) or undefined -> output (B, D), weights (B, N).
  AttentionPoolingResult<T> forward(const Tensor<T>& x, const MaskTensor& key_padding_mask = MaskTensor()) const;

  PoolingMode mode() const { return mode_; }
  int64_t dim() const { return dim_; }
  const Tensor<T>& query() const { return query_; }                // (D), kLearnedQuery
  const Tensor<T>& weight() const { return weight_; }              // (A, D), kAdditive
  const Tensor<T>& bias() const { return bias_; }                  // (A), kAdditive
  const Tensor<T>& score_weight() const { return score_weight_; }  // (A), kAdditive

 private:
  PoolingMode mode_;
  int64_t dim_;
  Tensor<T> query_;         // (D)
  Tensor<T> weight_;        // (A, D)
  Tensor<T> bias_;          // (A)
  Tensor<T> score_weight_;  // (A)
};

extern template class AttentionPooling<float>;
extern template class AttentionPooling<double>;

}  // namespace attend::nn
