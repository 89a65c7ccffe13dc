// Position modules: the learned tables of the positional encodings in attention/positional.h,
// as parameters.
//
//   LearnedPositionalEmbedding  absolute positions, a row per position   Gehring et al. 2017, GPT, BERT
//   RelativePositionEmbedding   Shaw et al. 2018 key (and value) tables by clipped distance
//   T5RelativeBias              a bias per head and bucket of distance    Raffel et al. 2020 (T5)
//
// Tables are initialised N(0, 0.02), the GPT-2/BERT convention; neither Shaw et al. nor T5 pin
// an initialisation that does not depend on the model width. See docs/positional.md.
#pragma once

#include <cstdint>

#include "attend/attention/positional.h"
#include "attend/core/random.h"
#include "attend/core/tensor.h"
#include "attend/nn/module.h"

namespace attend::nn {

// A trained position table (Gehring et al. 2017; GPT-2 and BERT): parameter "weight".
template <typename T>
class LearnedPositionalEmbedding : public Module<T> {
 public:
  LearnedPositionalEmbedding(int64_t max_length, int64_t dim, Generator& generator);

  // -> (length, dim): rows offset .. offset + length - 1 of the weight.
  Tensor<T> forward(int64_t length, int64_t offset = 0) const;

  int64_t max_length() const { return weight_.size(0); }
  int64_t dim() const { return weight_.size(1); }
  const Tensor<T>& weight() const { return weight_; }  // (max_length, dim)

 private:
  Tensor<T> weight_;  // (max_length, dim)
};

// Shaw et al. 2018 relative positions: parameters "keys" and, with values, "values".
template <typename T>
class RelativePositionEmbedding : public Module<T> {
 public:
  RelativePositionEmbedding(int64_t max_distance, int64_t head_dim, bool with_values, Generator& generator);

  // q (B, H, N, D) -> (B, H, N, M): add to Q K^T before multiplying by the scale.
  Tensor<T> score_bias(const Tensor<T>& q, int64_t keys, int64_t offset = 0) const;
  // weights (B, H, N, M) -> (B, H, N, D): add to P V. ValueError without a values table.
  Tensor<T> value_term(const Tensor<T>& weights, int64_t offset = 0) const;

  int64_t max_distance() const { return max_distance_; }
  int64_t head_dim() const { return keys_.size(1); }
  bool with_values() const { return values_.defined(); }
  const Tensor<T>& keys() const { return keys_; }      // (2K + 1, D)
  const Tensor<T>& values() const { return values_; }  // (2K + 1, D) or undefined

 private:
  int64_t max_distance_;
  Tensor<T> keys_;    // (2K + 1, D)
  Tensor<T> values_;  // (2K + 1, D) or undefined
};

// T5 relative attention bias: parameter "bias" (num_buckets, heads).
template <typename T>
class T5RelativeBias : public Module<T> {
 public:
  T5RelativeBias(int64_t num_buckets, int64_t max_distance, int64_t heads, bool bidirectional, Generator& generator);

  // -> (1, H, N, M): add to the attention scores.
  Tensor<T> forward(int64_t queries, int64_t keys, int64_t offset = 0) const;

  int64_t num_buckets() const { return bias_.size(0); }
  int64_t heads() const { return bias_.size(1); }
  int64_t max_distance() const { return max_distance_; }
  bool bidirectional() const { return bidirectional_; }
  const Tensor<T>& bias() const { return bias_; }  // (num_buckets, heads)

 private:
  int64_t max_distance_;
  bool bidirectional_;
  Tensor<T> bias_;  // (num_buckets, heads)
};

extern template class LearnedPositionalEmbedding<float>;
extern template class LearnedPositionalEmbedding<double>;
extern template class RelativePositionEmbedding<float>;
extern template class RelativePositionEmbedding<double>;
extern template class T5RelativeBias<float>;
extern template class T5RelativeBias<double>;

}  // namespace attend::nn
