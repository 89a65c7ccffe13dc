#include "attend/nn/score_modules.h"

#include <cmath>

#include "attend/core/error.h"
#include "nn/parameter_init.h"

namespace attend::nn {

template <typename T>
Tensor<T> DotScore<T>::scores(const Tensor<T>& q, const Tensor<T>& k) const {
  return dot_scores(q, k);
}

template <typename T>
Tensor<T> ScaledDotScore<T>::scores(const Tensor<T>& q, const Tensor<T>& k) const {
  return scaled_dot_scores(q, k);
}

template <typename T>
GeneralScore<T>::GeneralScore(int64_t query_dim, int64_t key_dim, Generator& generator) {
  ATTEND_CHECK(query_dim > 0 && key_dim > 0, ValueError,
               "GeneralScore: query_dim and key_dim must be positive, got {} and {}", query_dim, key_dim);
  weight_ = this->register_parameter("weight", fan_in_uniform<T>({query_dim, key_dim}, key_dim, generator));
}

template <typename T>
Tensor<T> GeneralScore<T>::scores(const Tensor<T>& q, const Tensor<T>& k) const {
  return general_scores(q, k, weight_);
}

template <typename T>
AdditiveScore<T>::AdditiveScore(int64_t query_dim, int64_t key_dim, int64_t attention_dim, Generator& generator) {
  ATTEND_CHECK(query_dim > 0 && key_dim > 0 && attention_dim > 0, ValueError,
               "AdditiveScore: query_dim, key_dim and attention_dim must be positive, got {}, {} and {}", query_dim,
               key_dim, attention_dim);
  query_weight_ =
      this->register_parameter("query_weight", fan_in_uniform<T>({query_dim, attention_dim}, query_dim, generator));
  key_weight_ = this->register_parameter("key_weight", fan_in_uniform<T>({key_dim, attention_dim}, key_dim, generator));
  score_weight_ =
      this->register_parameter("score_weight", fan_in_uniform<T>({attention_dim}, attention_dim, generator));
}

template <typename T>
Tensor<T> AdditiveScore<T>::scores(const Tensor<T>& q, const Tensor<T>& k) const {
  return additive_scores(q, k, query_weight_, key_weight_, score_weight_);
}

template <typename T>
CosineScore<T>::CosineScore(double initial_temperature) {
  ATTEND_CHECK(std::isfinite(initial_temperature) && initial_temperature > 0, ValueError,
               "CosineScore: initial_temperature must be positive and finite, got {}", initial_temperature);
  log_temperature_ =
      this->register_parameter("log_temperature", Tensor<T>::scalar(static_cast<T>(std::log(initial_temperature))));
}

template <typename T>
Tensor<T> CosineScore<T>::scores(const Tensor<T>& q, const Tensor<T>& k) const {
  return cosine_scores(q, k, log_temperature_);
}

template class DotScore<float>;
template class DotScore<double>;
template class ScaledDotScore<float>;
template class ScaledDotScore<double>;
template class GeneralScore<float>;
template class GeneralScore<double>;
template class AdditiveScore<float>;
template class AdditiveScore<double>;
template class CosineScore<float>;
template class CosineScore<double>;

}  // namespace attend::nn
