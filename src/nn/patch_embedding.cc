#include "attend/nn/patch_embedding.h"

#include "attend/core/error.h"

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
