#include "attend/attention/attention_pooling.h"

#include <cmath>
#include <limits>

#include "attend/core/error.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/masking.h"
#include "attend/ops/matmul.h"
#include "attend/ops/softmax.h"

namespace attend {
namespace {

template <typename T>
void check_sequence(const char* op, const Tensor<T>& x, const MaskTensor& key_padding_mask) {
  ATTEND_CHECK(x.rank() == 3, ShapeError, "{}: x {} must have rank 3, (B, N, D)", op, shape_string(x.shape()));
  ATTEND_CHECK(!key_padding_mask.defined() || key_padding_mask.shape() == Shape({x.size(0), x.size(1)}), ShapeError,
               "{}: key_padding_mask {} must be (B, N) = ({}, {}) for x {}", op, shape_string(key_padding_mask.shape()),
               x.size(0), x.size(1), shape_string(x.shape()));
}

// x (B, N, D) and scores (B, N), validated.
template <typename T>
AttentionPoolingResult<T> pool(const Tensor<T>& x, const Tensor<T>& scores, const MaskTensor& key_padding_mask) {
  const Tensor<T> masked = key_padding_mask.defined()
                               ? masked_fill(scores, key_padding_mask, -std::numeric_limits<T>::infinity())
                               : scores;                     // (B, N)
  const Tensor<T> weights = softmax(masked, -1);             // (B, N); all-padding rows are 0
  const Tensor<T> output = matmul(weights.unsqueeze(1), x);  // (B, 1, N) @ (B, N, D) = (B, 1, D)
  return {output.squeeze(1), weights};
}

}  // namespace

template <typename T>
AttentionPoolingResult<T> pool_with_scores(const Tensor<T>& x, const Tensor<T>& scores,
                                           const MaskTensor& key_padding_mask) {
  check_sequence("pool_with_scores", x, key_padding_mask);
  ATTEND_CHECK(scores.shape() == Shape({x.size(0), x.size(1)}), ShapeError,
               "pool_with_scores: scores {} must be (B, N) = ({}, {}) for x {}", shape_string(scores.shape()),
               x.size(0), x.size(1), shape_string(x.shape()));
  return pool(x, scores, key_padding_mask);
}

template <typename T>
AttentionPoolingResult<T> learned_query_pooling(const Tensor<T>& x, const Tensor<T>& query,
                                                const MaskTensor& key_padding_mask) {
  check_sequence("learned_query_pooling", x, key_padding_mask);
  const int64_t dim = x.size(2);
  ATTEND_CHECK(dim >= 1 && query.rank() == 1 && query.size(0) == dim, ShapeError,
               "learned_query_pooling: query {} must be (D) = ({}) with D >= 1 for x {}", shape_string(query.shape()),
               dim, shape_string(x.shape()));
  // 1 / sqrt(D) keeps the scores' variance independent of D, as in scaled dot-product attention.
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(dim)));
  const Tensor<T> scores = matmul(x, query.reshape({dim, 1})).squeeze(2);  // (B, N, D) @ (D, 1) -> (B, N)
  return pool(x, mul_scalar(scores, scale), key_padding_mask);
}

template <typename T>
AttentionPoolingResult<T> additive_pooling(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias,
                                           const Tensor<T>& score_weight, const MaskTensor& key_padding_mask) {
  check_sequence("additive_pooling", x, key_padding_mask);
  ATTEND_CHECK(weight.rank() == 2 && weight.size(1) == x.size(2), ShapeError,
               "additive_pooling: weight {} must be (A, D) with D = {} for x {}", shape_string(weight.shape()),
               x.size(2), shape_string(x.shape()));
  const int64_t attention_dim = weight.size(0);
  ATTEND_CHECK(bias.rank() == 1 && bias.size(0) == attention_dim && score_weight.rank() == 1 &&
                   score_weight.size(0) == attention_dim,
               ShapeError, "additive_pooling: bias {} and score_weight {} must be (A) = ({}) for weight {}",
               shape_string(bias.shape()), shape_string(score_weight.shape()), attention_dim,
               shape_string(weight.shape()));
  const Tensor<T> hidden = tanh(add(matmul(x, weight.transpose(0, 1)), bias));                   // (B, N, A)
  const Tensor<T> scores = matmul(hidden, score_weight.reshape({attention_dim, 1})).squeeze(2);  // (B, N)
  return pool(x, scores, key_padding_mask);
}

#define ATTEND_INSTANTIATE_POOLING(T)                                                                              \
  template AttentionPoolingResult<T> pool_with_scores(const Tensor<T>&, const Tensor<T>&, const MaskTensor&);      \
  template AttentionPoolingResult<T> learned_query_pooling(const Tensor<T>&, const Tensor<T>&, const MaskTensor&); \
  template AttentionPoolingResult<T> additive_pooling(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&,        \
                                                      const Tensor<T>&, const MaskTensor&);
ATTEND_INSTANTIATE_POOLING(float)
ATTEND_INSTANTIATE_POOLING(double)
#undef ATTEND_INSTANTIATE_POOLING

}  // namespace attend
