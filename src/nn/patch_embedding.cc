#include "attend/nn/patch_embedding.h"

#include "attend/core/error.h"

namespace attend {

template <typename T>
Tensor<T> image_patches(const Tensor<T>& x, int64_t patch_size) {
  const int64_t p = patch_size;
  ATTEND_CHECK(x.rank() == 4, ShapeError, "image_patches: x {} must be (B, C, H, W)", shape_string(x.shape()));
  ATTEND_CHECK(p >= 1 && x.size(2) % p == 0 && x.size(3) % p == 0, ShapeError,
               "image_patches: patch size {} must divide the image height and width of x {}", p,
               shape_string(x.shape()));
  const int64_t batch = x.size(0), channels = x.size(1), rows = x.size(2) / p, columns = x.size(3) / p;
  // (B, C, H/p, p, W/p, p) -> (B, H/p, W/p, C, p, p): one copy, then a free reshape.
  return x.reshape({batch, channels, rows, p, columns, p})
      .permute({0, 2, 4, 1, 3, 5})
      .contiguous()
      .reshape({batch, rows * columns, channels * p * p});
}

template Tensor<float> image_patches(const Tensor<float>&, int64_t);
template Tensor<double> image_patches(const Tensor<double>&, int64_t);

}  // namespace attend

namespace attend::nn {

template <typename T>
PatchEmbedding<T>::PatchEmbedding(const PatchEmbeddingConfig& config, Generator& generator) : config_(config) {
  ATTEND_CHECK(config.in_channels >= 1 && config.patch_size >= 1 && config.embed_dim >= 1, ValueError,
               "PatchEmbedding: in_channels={}, patch_size={} and embed_dim={} must be positive", config.in_channels,
               config.patch_size, config.embed_dim);
  const int64_t patch_features = config.in_channels * config.patch_size * config.patch_size;
  projection_ = this->register_module("projection",
                                      std::make_shared<Linear<T>>(patch_features, config.embed_dim, true, generator));
}

template <typename T>
Tensor<T> PatchEmbedding<T>::forward(const Tensor<T>& x) const {
  ATTEND_CHECK(x.rank() == 4 && x.size(1) == config_.in_channels, ShapeError,
               "PatchEmbedding: input {} must be (B, C = {}, H, W)", shape_string(x.shape()), config_.in_channels);
  return projection_->forward(image_patches(x, config_.patch_size));  // (B, P, E)
}

template class PatchEmbedding<float>;
template class PatchEmbedding<double>;

}  // namespace attend::nn
