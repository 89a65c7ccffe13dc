// Attention score functions: how well query i matches key j, before any softmax.
//
//   dot         s_ij = q_i . k_j                                  Luong et al. 2015 ("dot")
//   scaled dot  s_ij = q_i . k_j / sqrt(D)                        Vaswani et al. 2017
//   general     s_ij = q_i W k_j                                  Luong et al. 2015 ("general")
//   additive    s_ij = v . tanh(q_i Wq + k_j Wk)                  Bahdanau et al. 2015 ("concat")
//   cosine      s_ij = exp(t) q_i . k_j / (max(|q_i|, eps) max(|k_j|, eps)),  eps = 1e-8
//                                                                 Graves et al. 2014 (NTM content
//                                                                 addressing), Liu et al. 2022
//                                                                 (Swin Transformer v2)
//
// Every function maps q (B, N, Dq) and k (B, M, Dk) to scores (B, N, M) and is built from
// differentiable ops, so gradients reach q, k and every parameter tensor. The functional forms
// take their parameters as tensors (what the op harness checks); the modules below own them.
// docs/score_functions.md has examples.
#pragma once

#include <cstdint>

#include "attend/core/random.h"
#include "attend/core/tensor.h"
#include "attend/nn/module.h"

namespace attend {

// Below this norm a vector counts as zero in cosine_scores: dividing by max(|x|, eps) keeps a
// zero vector's scores at 0 (not NaN), as torch.nn.functional.cosine_similarity does.
inline constexpr double kCosineNormEpsilon = 1e-8;

// q (B, N, D), k (B, M, D) -> (B, N, M): q k^T.
template <typename T>
Tensor<T> dot_scores(const Tensor<T>& q, const Tensor<T>& k);

// q (B, N, D), k (B, M, D) -> (B, N, M): q k^T / sqrt(D). D >= 1.
template <typename T>
Tensor<T> scaled_dot_scores(const Tensor<T>& q, const Tensor<T>& k);

// q (B, N, Dq), k (B, M, Dk), weight (Dq, Dk) -> (B, N, M): q W k^T.
template <typename T>
Tensor<T> general_scores(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& weight);

// q (B, N, Dq), k (B, M, Dk), query_weight (Dq, A), key_weight (Dk, A), score_weight (A)
// -> (B, N, M): s_ij = sum_a score_weight[a] tanh((q Wq)[i, a] + (k Wk)[j, a]).
// Builds the (B, N, M, A) hidden tensor by broadcasting (B, N, 1, A) + (B, 1, M, A).
template <typename T>
Tensor<T> additive_scores(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& query_weight,
                          const Tensor<T>& key_weight, const Tensor<T>& score_weight);

// The second half of additive_scores, for callers that project once and score many times (a
// recurrent decoder projects its keys once per sequence and one query per step):
// projected_q (B, N, A) = q Wq, projected_k (B, M, A) = k Wk, score_weight (A) -> (B, N, M).
template <typename T>
Tensor<T> additive_scores_from_projections(const Tensor<T>& projected_q, const Tensor<T>& projected_k,
                                           const Tensor<T>& score_weight);

// q (B, N, D), k (B, M, D), log_temperature () -> (B, N, M): exp(log_temperature) times the
// cosine similarity of q_i and k_j. The factor multiplies (it is Swin v2's 1 / tau), and its
// logarithm is the parameter so that it stays positive under gradient descent.
template <typename T>
Tensor<T> cosine_scores(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& log_temperature);

}  // namespace attend

namespace attend::nn {

// A module that scores queries against keys; ScoredAttention takes any of them.
template <typename T>
class ScoreFunction : public Module<T> {
 public:
  // q (B, N, Dq), k (B, M, Dk) -> (B, N, M).
  virtual Tensor<T> scores(const Tensor<T>& q, const Tensor<T>& k) const = 0;
};

// dot_scores; no parameters.
template <typename T>
class DotScore : public ScoreFunction<T> {
 public:
  Tensor<T> scores(const Tensor<T>& q, const Tensor<T>& k) const override;
};

// scaled_dot_scores; no parameters.
template <typename T>
class ScaledDotScore : public ScoreFunction<T> {
 public:
  Tensor<T> scores(const Tensor<T>& q, const Tensor<T>& k) const override;
};

// general_scores with a learned weight (Dq, Dk) ~ U(-1/sqrt(Dk), 1/sqrt(Dk)): PyTorch's
// default for the Linear(Dk -> Dq) that maps keys into query space.
template <typename T>
class GeneralScore : public ScoreFunction<T> {
 public:
  GeneralScore(int64_t query_dim, int64_t key_dim, Generator& generator);
  Tensor<T> scores(const Tensor<T>& q, const Tensor<T>& k) const override;
  const Tensor<T>& weight() const { return weight_; }  // (Dq, Dk)

 private:
  Tensor<T> weight_;  // (Dq, Dk)
};

// additive_scores with learned projections, each drawn as PyTorch's Linear default:
// query_weight ~ U(+-1/sqrt(Dq)), key_weight ~ U(+-1/sqrt(Dk)), score_weight ~ U(+-1/sqrt(A)).
template <typename T>
class AdditiveScore : public ScoreFunction<T> {
 public:
  AdditiveScore(int64_t query_dim, int64_t key_dim, int64_t attention_dim, Generator& generator);
  Tensor<T> scores(const Tensor<T>& q, const Tensor<T>& k) const override;
  const Tensor<T>& query_weight() const { return query_weight_; }  // (Dq, A)
  const Tensor<T>& key_weight() const { return key_weight_; }      // (Dk, A)
  const Tensor<T>& score_weight() const { return score_weight_; }  // (A)

 private:
  Tensor<T> query_weight_;  // (Dq, A)
  Tensor<T> key_weight_;    // (Dk, A)
  Tensor<T> score_weight_;  // (A)
};

// cosine_scores with a learned log_temperature () initialized to log(initial_temperature).
// The default 10 is Swin v2's initial logit scale (log(1 / 0.1)); a cosine lies in [-1, 1], so
// without the factor a softmax over cosines stays close to uniform.
template <typename T>
class CosineScore : public ScoreFunction<T> {
 public:
  explicit CosineScore(double initial_temperature = 10.0);
  Tensor<T> scores(const Tensor<T>& q, const Tensor<T>& k) const override;
  const Tensor<T>& log_temperature() const { return log_temperature_; }  // ()

 private:
  Tensor<T> log_temperature_;  // ()
};

extern template class DotScore<float>;
extern template class DotScore<double>;
extern template class ScaledDotScore<float>;
extern template class ScaledDotScore<double>;
extern template class GeneralScore<float>;
extern template class GeneralScore<double>;
extern template class AdditiveScore<float>;
extern template class AdditiveScore<double>;
extern template class CosineScore<float>;
extern template class CosineScore<double>;

}  // namespace attend::nn
