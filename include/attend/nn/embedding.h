// Embedding table: out[..., :] = weight[indices[...], :] (a lookup, differentiable in weight).
#pragma once

#include <optional>

#include "attend/core/random.h"
#include "attend/nn/module.h"

namespace attend::nn {

// weight (V, D), indices (any shape) -> (*indices.shape, D), as torch.nn.functional.embedding:
// positions whose index equals padding_idx read that row like any other but send it no
// gradient, so a row that starts at zero stays zero through training. padding_idx in [-V, V)
// (negative counts from the end); std::nullopt means no padding row.
template <typename T>
Tensor<T> embedding(const Tensor<T>& weight, const IndexTensor& indices, std::optional<int64_t> padding_idx);

template <typename T>
class Embedding : public Module<T> {
 public:
  // weight (num_embeddings, embedding_dim) drawn from N(0, 1), PyTorch's default, with the
  // padding_idx row (if any) set to zero.
  Embedding(int64_t num_embeddings, int64_t embedding_dim, Generator& generator,
            std::optional<int64_t> padding_idx = std::nullopt);

  // indices (any shape), values in [0, num_embeddings) -> (*indices.shape, embedding_dim).
  Tensor<T> forward(const IndexTensor& indices) const;

  int64_t num_embeddings() const { return weight_.size(0); }
  int64_t embedding_dim() const { return weight_.size(1); }
  // Normalized to [0, num_embeddings), or std::nullopt.
  std::optional<int64_t> padding_idx() const { return padding_idx_; }
  const Tensor<T>& weight() const { return weight_; }  // (num_embeddings, embedding_dim)

 private:
  Tensor<T> weight_;                    // (num_embeddings, embedding_dim)
  std::optional<int64_t> padding_idx_;  // in [0, num_embeddings)
};

extern template class Embedding<float>;
extern template class Embedding<double>;

}  // namespace attend::nn
