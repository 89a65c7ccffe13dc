#include "attend/nn/positional_embedding.h"

#include "attend/core/error.h"
#include "nn/parameter_init.h"

namespace attend::nn {

// Standard deviation of every table below (the GPT-2/BERT initialisation).
constexpr double kTableStd = 0.02;

template <typename T>
LearnedPositionalEmbedding<T>::LearnedPositionalEmbedding(int64_t max_length, int64_t dim, Generator& generator) {
  ATTEND_CHECK(max_length > 0 && dim > 0, ValueError,
               "LearnedPositionalEmbedding: max_length and dim must be positive, got max_length = {}, dim = {}",
               max_length, dim);
  weight_ = this->register_parameter("weight", normal_table<T>({max_length, dim}, kTableStd, generator));
}

template <typename T>
Tensor<T> LearnedPositionalEmbedding<T>::forward(int64_t length, int64_t offset) const {
  return learned_positional_embedding(weight_, length, offset);
}

template <typename T>
RelativePositionEmbedding<T>::RelativePositionEmbedding(int64_t max_distance, int64_t head_dim, bool with_values,
                                                        Generator& generator)
    : max_distance_(max_distance) {
  const int64_t rows = shaw_table_rows(max_distance, "RelativePositionEmbedding");
  ATTEND_CHECK(head_dim > 0, ValueError, "RelativePositionEmbedding: head_dim must be positive, got {}", head_dim);
  const Shape shape{rows, head_dim};
  keys_ = this->register_parameter("keys", normal_table<T>(shape, kTableStd, generator));
  if (with_values) values_ = this->register_parameter("values", normal_table<T>(shape, kTableStd, generator));
}

template <typename T>
Tensor<T> RelativePositionEmbedding<T>::score_bias(const Tensor<T>& q, int64_t keys, int64_t offset) const {
  return shaw_score_bias(q, keys_, keys, max_distance_, offset);
}

template <typename T>
Tensor<T> RelativePositionEmbedding<T>::value_term(const Tensor<T>& weights, int64_t offset) const {
  ATTEND_CHECK(with_values(), ValueError,
               "RelativePositionEmbedding::value_term: this module was built with with_values = false (weights {})",
               shape_string(weights.shape()));
  return shaw_value_term(weights, values_, max_distance_, offset);
}

template <typename T>
T5RelativeBias<T>::T5RelativeBias(int64_t num_buckets, int64_t max_distance, int64_t heads, bool bidirectional,
                                  Generator& generator)
    : max_distance_(max_distance), bidirectional_(bidirectional) {
  ATTEND_CHECK(heads > 0, ValueError, "T5RelativeBias: heads must be positive, got {}", heads);
  t5_relative_bucket(0, bidirectional, num_buckets, max_distance);  // validates the bucket layout
  bias_ = this->register_parameter("bias", normal_table<T>({num_buckets, heads}, kTableStd, generator));
}

template <typename T>
Tensor<T> T5RelativeBias<T>::forward(int64_t queries, int64_t keys, int64_t offset) const {
  return t5_relative_bias(bias_, queries, keys, bidirectional_, max_distance_, offset);
}

template class LearnedPositionalEmbedding<float>;
template class LearnedPositionalEmbedding<double>;
template class RelativePositionEmbedding<float>;
template class RelativePositionEmbedding<double>;
template class T5RelativeBias<float>;
template class T5RelativeBias<double>;

}  // namespace attend::nn
