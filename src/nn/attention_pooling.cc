#include "attend/nn/attention_pooling.h"

#include "attend/core/error.h"
#include "nn/parameter_init.h"

namespace attend::nn {

template <typename T>
AttentionPooling<T>::AttentionPooling(PoolingMode mode, int64_t dim, Generator& generator, int64_t attention_dim)
    : mode_(mode), dim_(dim) {
  ATTEND_CHECK(dim > 0, ValueError, "AttentionPooling: dim must be positive, got {}", dim);
  if (mode == PoolingMode::kLearnedQuery) {
    ATTEND_CHECK(attention_dim == 0, ValueError,
                 "AttentionPooling: attention_dim {} is only used by PoolingMode::kAdditive; pass 0", attention_dim);
    query_ = this->register_parameter("query", fan_in_uniform<T>({dim}, dim, generator));
    return;
  }
  ATTEND_CHECK(attention_dim > 0, ValueError, "AttentionPooling: kAdditive needs attention_dim > 0, got {}",
               attention_dim);
  weight_ = this->register_parameter("weight", fan_in_uniform<T>({attention_dim, dim}, dim, generator));
  bias_ = this->register_parameter("bias", fan_in_uniform<T>({attention_dim}, dim, generator));
  score_weight_ =
      this->register_parameter("score_weight", fan_in_uniform<T>({attention_dim}, attention_dim, generator));
}

template <typename T>
AttentionPoolingResult<T> AttentionPooling<T>::forward(const Tensor<T>& x, const MaskTensor& key_padding_mask) const {
  ATTEND_CHECK(x.rank() == 3 && x.size(2) == dim_, ShapeError, "AttentionPooling: x {} must be (B, N, D) with D = {}",
               shape_string(x.shape()), dim_);
  if (mode_ == PoolingMode::kLearnedQuery) return learned_query_pooling(x, query_, key_padding_mask);
  return additive_pooling(x, weight_, bias_, score_weight_, key_padding_mask);
}

template class AttentionPooling<float>;
template class AttentionPooling<double>;

}  // namespace attend::nn
