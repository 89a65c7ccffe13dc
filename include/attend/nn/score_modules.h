// Score modules: the score functions of attention/score_functions.h with their parameters,
// behind one interface, ScoreFunction, that nn::ScoredAttention takes.
//
//   DotScore, ScaledDotScore   no parameters
//   GeneralScore               weight (Dq, Dk)                      Luong et al. 2015
//   AdditiveScore              query_weight, key_weight, score_weight  Bahdanau et al. 2015
//   CosineScore                log_temperature ()                   Swin Transformer v2
#pragma once

#include <cstdint>

#include "attend/attention/score_functions.h"
#include "attend/core/random.h"
#include "attend/core/tensor.h"
#include "attend/nn/module.h"

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
