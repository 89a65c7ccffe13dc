// ScoredAttention: attention (attention/scored_attention.h) whose scores come from a score module
// (nn/score_modules.h), the module's child "score".
//
//   S = score(Q, K)  (B, N, M);  P = softmax(S) or hard argmax, masked;  O = P V  (B, N, Dv)
#pragma once

#include <memory>

#include "attend/attention/scored_attention.h"
#include "attend/core/tensor.h"
#include "attend/nn/module.h"
#include "attend/nn/score_modules.h"

namespace attend::nn {

template <typename T>
class ScoredAttention : public Module<T> {
 public:
  // The score function becomes the child module "score" (its parameters are "score.*").
  explicit ScoredAttention(std::shared_ptr<ScoreFunction<T>> score_function);

  // q (B, N, Dq), k (B, M, Dk), v (B, M, Dv) -> output (B, N, Dv), weights (B, N, M).
  ScoredAttentionResult<T> forward(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                   const ScoredAttentionOptions& options = {}) const;

  const ScoreFunction<T>& score_function() const { return *score_function_; }

 private:
  std::shared_ptr<ScoreFunction<T>> score_function_;
};

extern template class ScoredAttention<float>;
extern template class ScoredAttention<double>;

}  // namespace attend::nn
