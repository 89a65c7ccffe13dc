#include "attend/nn/conv2d.h"

#include <cmath>

#include "attend/core/error.h"

namespace attend::nn {

template <typename T>
Conv2d<T>::Conv2d(const Conv2dConfig& config, Generator& generator) : config_(config) {
  const auto& c = config_;
  ATTEND_CHECK(c.in_channels > 0 && c.out_channels > 0, ValueError,
               "Conv2d: channels must be positive, got in_channels={} out_channels={}", c.in_channels, c.out_channels);
  ATTEND_CHECK(c.kernel_size.height > 0 && c.kernel_size.width > 0, ValueError,
               "Conv2d: kernel_size ({}, {}) must be positive", c.kernel_size.height, c.kernel_size.width);
  ATTEND_CHECK(c.stride.height > 0 && c.stride.width > 0 && c.padding.height >= 0 && c.padding.width >= 0, ValueError,
               "Conv2d: stride ({}, {}) must be positive and padding ({}, {}) non-negative", c.stride.height,
               c.stride.width, c.padding.height, c.padding.width);
  const int64_t fan_in = c.in_channels * c.kernel_size.height * c.kernel_size.width;
  const T bound = static_cast<T>(1.0 / std::sqrt(static_cast<double>(fan_in)));
  weight_ = this->register_parameter(
      "weight", Tensor<T>::uniform({c.out_channels, c.in_channels, c.kernel_size.height, c.kernel_size.width}, -bound,
                                   bound, generator));
  if (c.bias) bias_ = this->register_parameter("bias", Tensor<T>::uniform({c.out_channels}, -bound, bound, generator));
}

template <typename T>
Tensor<T> Conv2d<T>::forward(const Tensor<T>& x) const {
  return conv2d(x, weight_, bias_, config_.stride, config_.padding);
}

template class Conv2d<float>;
template class Conv2d<double>;

}  // namespace attend::nn
