#include "attend/attention/score_functions.h"

#include <cmath>

#include "attend/core/error.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/matmul.h"
#include "attend/ops/reduction.h"

namespace attend {
namespace {

// q (B, N, Dq) and k (B, M, Dk) with one batch size; Dq == Dk when `same_feature_size`.
template <typename T>
void check_query_key(const char* op, const Tensor<T>& q, const Tensor<T>& k, bool same_feature_size) {
  ATTEND_CHECK(q.rank() == 3 && k.rank() == 3, ShapeError,
               "{}: q {} and k {} must have rank 3, (B, N, Dq) and (B, M, Dk)", op, shape_string(q.shape()),
               shape_string(k.shape()));
  ATTEND_CHECK(q.size(0) == k.size(0), ShapeError, "{}: q {} and k {} have different batch sizes ({} != {})", op,
               shape_string(q.shape()), shape_string(k.shape()), q.size(0), k.size(0));
  ATTEND_CHECK(!same_feature_size || q.size(2) == k.size(2), ShapeError,
               "{}: q {} and k {} need the same feature size ({} != {})", op, shape_string(q.shape()),
               shape_string(k.shape()), q.size(2), k.size(2));
}

// x (B, L, D) -> (B, D, L), the right operand of q k^T.
template <typename T>
Tensor<T> transposed(const Tensor<T>& x) {
  return x.transpose(1, 2);
}

// max(|x|, eps) along the last axis: x (B, L, D) -> (B, L, 1). Computed as
// sqrt(relu(|x|^2 - eps^2) + eps^2) so that the clamp comes before the square root: sqrt never
// sees 0, and a zero vector gets relu's zero gradient instead of 0 * inf = NaN.
template <typename T>
Tensor<T> clamped_norm(const Tensor<T>& x) {
  const T eps_squared = static_cast<T>(kCosineNormEpsilon * kCosineNormEpsilon);
  const Tensor<T> squared_norm = sum(square(x), {-1}, /*keepdim=*/true);  // (B, L, 1)
  return sqrt(add_scalar(relu(add_scalar(squared_norm, -eps_squared)), eps_squared));
}

}  // namespace

template <typename T>
Tensor<T> dot_scores(const Tensor<T>& q, const Tensor<T>& k) {
  check_query_key("dot_scores", q, k, true);
  return matmul(q, transposed(k));  // (B, N, D) @ (B, D, M)
}

template <typename T>
Tensor<T> scaled_dot_scores(const Tensor<T>& q, const Tensor<T>& k) {
  check_query_key("scaled_dot_scores", q, k, true);
  ATTEND_CHECK(q.size(2) >= 1, ShapeError, "scaled_dot_scores: q {} and k {} have feature size 0 (1 / sqrt(0))",
               shape_string(q.shape()), shape_string(k.shape()));
  // With unit-variance entries q_i . k_j has variance D; the scale brings it back to 1 so that
  // the softmax does not saturate as D grows (Vaswani et al. 2017, section 3.2.1).
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(q.size(2))));
  return mul_scalar(matmul(q, transposed(k)), scale);
}

template <typename T>
Tensor<T> general_scores(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& weight) {
  check_query_key("general_scores", q, k, false);
  ATTEND_CHECK(weight.rank() == 2 && weight.size(0) == q.size(2) && weight.size(1) == k.size(2), ShapeError,
               "general_scores: weight {} must be (Dq, Dk) = ({}, {}) for q {} and k {}", shape_string(weight.shape()),
               q.size(2), k.size(2), shape_string(q.shape()), shape_string(k.shape()));
  const Tensor<T> projected_query = matmul(q, weight);  // (B, N, Dk)
  return matmul(projected_query, transposed(k));        // (B, N, Dk) @ (B, Dk, M)
}

template <typename T>
Tensor<T> additive_scores(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& query_weight,
                          const Tensor<T>& key_weight, const Tensor<T>& score_weight) {
  check_query_key("additive_scores", q, k, false);
  ATTEND_CHECK(query_weight.rank() == 2 && query_weight.size(0) == q.size(2), ShapeError,
               "additive_scores: query_weight {} must be (Dq, A) with Dq = {} for q {}",
               shape_string(query_weight.shape()), q.size(2), shape_string(q.shape()));
  const int64_t attention_dim = query_weight.size(1);
  ATTEND_CHECK(key_weight.rank() == 2 && key_weight.size(0) == k.size(2) && key_weight.size(1) == attention_dim,
               ShapeError, "additive_scores: key_weight {} must be (Dk, A) = ({}, {}) for k {} and query_weight {}",
               shape_string(key_weight.shape()), k.size(2), attention_dim, shape_string(k.shape()),
               shape_string(query_weight.shape()));
  ATTEND_CHECK(score_weight.rank() == 1 && score_weight.size(0) == attention_dim, ShapeError,
               "additive_scores: score_weight {} must be (A) = ({}) for query_weight {}",
               shape_string(score_weight.shape()), attention_dim, shape_string(query_weight.shape()));
  // Projecting before broadcasting costs (N + M) D A instead of N M D A: W [q_i; k_j] splits into
  // q_i Wq + k_j Wk.
  return additive_scores_from_projections(matmul(q, query_weight), matmul(k, key_weight), score_weight);
}

template <typename T>
Tensor<T> additive_scores_from_projections(const Tensor<T>& projected_q, const Tensor<T>& projected_k,
                                           const Tensor<T>& score_weight) {
  ATTEND_CHECK(projected_q.rank() == 3 && projected_k.rank() == 3 && projected_q.size(0) == projected_k.size(0) &&
                   projected_q.size(2) == projected_k.size(2),
               ShapeError, "additive_scores: projected q {} and k {} must be (B, N, A) and (B, M, A)",
               shape_string(projected_q.shape()), shape_string(projected_k.shape()));
  const int64_t attention_dim = projected_q.size(2);
  ATTEND_CHECK(score_weight.rank() == 1 && score_weight.size(0) == attention_dim, ShapeError,
               "additive_scores: score_weight {} must be (A) = ({}) for projected q {}",
               shape_string(score_weight.shape()), attention_dim, shape_string(projected_q.shape()));
  const Tensor<T> hidden = tanh(add(projected_q.unsqueeze(2), projected_k.unsqueeze(1)));  // (B, N, M, A)
  const Tensor<T> scores = matmul(hidden, score_weight.reshape({attention_dim, 1}));       // (B, N, M, 1)
  return scores.squeeze(3);                                                                // (B, N, M)
}

template <typename T>
Tensor<T> cosine_scores(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& log_temperature) {
  check_query_key("cosine_scores", q, k, true);
  ATTEND_CHECK(log_temperature.rank() == 0, ShapeError,
               "cosine_scores: log_temperature {} must be a scalar () for q {} and k {}",
               shape_string(log_temperature.shape()), shape_string(q.shape()), shape_string(k.shape()));
  const Tensor<T> unit_query = div(q, clamped_norm(q));               // (B, N, D)
  const Tensor<T> unit_key = div(k, clamped_norm(k));                 // (B, M, D)
  const Tensor<T> cosine = matmul(unit_query, transposed(unit_key));  // (B, N, M)
  return mul(cosine, exp(log_temperature));                           // () broadcast
}

#define ATTEND_INSTANTIATE_SCORES(T)                                                                         \
  template Tensor<T> dot_scores(const Tensor<T>&, const Tensor<T>&);                                         \
  template Tensor<T> scaled_dot_scores(const Tensor<T>&, const Tensor<T>&);                                  \
  template Tensor<T> general_scores(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&);                   \
  template Tensor<T> additive_scores(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, \
                                     const Tensor<T>&);                                                      \
  template Tensor<T> additive_scores_from_projections(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&); \
  template Tensor<T> cosine_scores(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&);
ATTEND_INSTANTIATE_SCORES(float)
ATTEND_INSTANTIATE_SCORES(double)
#undef ATTEND_INSTANTIATE_SCORES

}  // namespace attend
