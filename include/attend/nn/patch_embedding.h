// Patch embedding (Dosovitskiy et al. 2021, "An image is worth 16x16 words", section 3.1): the
// image is cut into non-overlapping p x p patches; each is flattened and projected linearly to
// one token of width E.
//
//   r, s = patch row and column;  P = (H / p)(W / p) patches in row-major order
//   patches[b, r (W / p) + s, (c p + i) p + j] = x[b, c, r p + i, s p + j]      (B, P, C p p)
//   out = patches W^T + bias                                                 (B, P, E)
//
// This is a Conv2d with kernel = stride = p whose weight (E, C, p, p) is reshaped to W
// (E, C p p), flattened to tokens; written as image_patches (ops/convolution.h) and one matrix
// product because the convolution would run one small product per image.
#pragma once

#include <cstdint>

#include "attend/core/random.h"
#include "attend/nn/linear.h"
#include "attend/nn/module.h"
#include "attend/ops/convolution.h"

namespace attend::nn {

struct PatchEmbeddingConfig {
  int64_t in_channels = 1;  // C
  int64_t patch_size = 4;   // p
  int64_t embed_dim = 0;    // E
};

template <typename T>
class PatchEmbedding : public Module<T> {
 public:
  // Parameters "projection.weight" (E, C p p) and "projection.bias" (E) ~ U(+-1/sqrt(C p p)),
  // the initialization of both Linear and Conv2d.
  PatchEmbedding(const PatchEmbeddingConfig& config, Generator& generator);

  // x (B, C, H, W) -> (B, (H / p)(W / p), E).
  Tensor<T> forward(const Tensor<T>& x) const;

  const PatchEmbeddingConfig& config() const { return config_; }
  const Tensor<T>& weight() const { return projection_->weight(); }  // (E, C p p)
  const Tensor<T>& bias() const { return projection_->bias(); }      // (E)

 private:
  PatchEmbeddingConfig config_;
  std::shared_ptr<Linear<T>> projection_;
};

extern template class PatchEmbedding<float>;
extern template class PatchEmbedding<double>;

}  // namespace attend::nn
