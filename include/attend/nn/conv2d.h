// 2-D convolution layer: y = conv2d(x, weight, bias, stride, padding) (see ops/convolution.h).
#pragma once

#include "attend/core/random.h"
#include "attend/nn/module.h"
#include "attend/ops/convolution.h"

namespace attend::nn {

struct Conv2dConfig {
  int64_t in_channels = 0;   // C_in
  int64_t out_channels = 0;  // C_out
  Size2d kernel_size = 1;    // (kH, kW)
  Size2d stride = 1;
  Size2d padding = 0;  // zeros on each side
  bool bias = true;
};

template <typename T>
class Conv2d : public Module<T> {
 public:
  // weight (C_out, C_in, kH, kW) and bias (C_out) drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
  // fan_in = C_in kH kW: PyTorch's default (kaiming_uniform_ with a = sqrt(5) gives exactly this
  // bound for the weight), in that order from `generator`.
  Conv2d(const Conv2dConfig& config, Generator& generator);

  // x (B, C_in, H, W) -> (B, C_out, H_out, W_out).
  Tensor<T> forward(const Tensor<T>& x) const;

  const Conv2dConfig& config() const { return config_; }
  const Tensor<T>& weight() const { return weight_; }  // (C_out, C_in, kH, kW)
  const Tensor<T>& bias() const { return bias_; }      // (C_out) or undefined

 private:
  Conv2dConfig config_;
  Tensor<T> weight_;  // (C_out, C_in, kH, kW)
  Tensor<T> bias_;    // (C_out) or undefined
};

extern template class Conv2d<float>;
extern template class Conv2d<double>;

}  // namespace attend::nn
