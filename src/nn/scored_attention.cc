#include "attend/nn/scored_attention.h"

#include "attend/core/autograd.h"
#include "attend/core/error.h"

namespace attend::nn {

template <typename T>
ScoredAttention<T>::ScoredAttention(std::shared_ptr<ScoreFunction<T>> score_function) {
  ATTEND_CHECK(score_function != nullptr, ValueError, "ScoredAttention: the score function is null");
  score_function_ = this->register_module("score", std::move(score_function));
}

template <typename T>
ScoredAttentionResult<T> ScoredAttention<T>::forward(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                                     const ScoredAttentionOptions& options) const {
  ATTEND_CHECK(q.rank() == 3 && k.rank() == 3 && v.rank() == 3, ShapeError,
               "ScoredAttention: q {}, k {} and v {} must have rank 3, (B, N, Dq), (B, M, Dk) and (B, M, Dv)",
               shape_string(q.shape()), shape_string(k.shape()), shape_string(v.shape()));
  ATTEND_CHECK(q.size(0) == k.size(0) && k.size(0) == v.size(0) && k.size(1) == v.size(1), ShapeError,
               "ScoredAttention: q {}, k {} and v {} must share the batch size B, and k and v the key count M",
               shape_string(q.shape()), shape_string(k.shape()), shape_string(v.shape()));
  const int64_t batch = q.size(0), queries = q.size(1), keys = k.size(1);
  check_scored_attention_masks("ScoredAttention", batch, queries, keys, options);
  const Tensor<T> scores = [&] {  // (B, N, M)
    if (options.mode == AttentionMode::kHard) {
      NoGradGuard no_grad;  // hard weights are constant in the scores: no tape for them
      return score_function_->scores(q, k);
    }
    return score_function_->scores(q, k);
  }();
  const Shape expected{batch, queries, keys};
  ATTEND_CHECK(scores.shape() == expected, ShapeError,
               "ScoredAttention: the score function returned {} for q {} and k {}; expected (B, N, M) = {}",
               shape_string(scores.shape()), shape_string(q.shape()), shape_string(k.shape()), shape_string(expected));
  return attention_from_scores(scores, v, options);
}

template class ScoredAttention<float>;
template class ScoredAttention<double>;

}  // namespace attend::nn
