// Pooling layers: parameter-free wrappers of max_pool2d and avg_pool2d (ops/convolution.h).
#pragma once

#include <optional>

#include "attend/nn/module.h"
#include "attend/ops/convolution.h"

namespace attend::nn {

template <typename T>
class MaxPool2d : public Module<T> {
 public:
  // stride defaults to the kernel; padding (at most half the kernel) counts as -inf.
  explicit MaxPool2d(Size2d kernel_size, std::optional<Size2d> stride = std::nullopt, Size2d padding = 0);

  // x (B, C, H, W) -> (B, C, H_out, W_out).
  Tensor<T> forward(const Tensor<T>& x) const { return max_pool2d(x, kernel_size_, stride_, padding_); }

 private:
  Size2d kernel_size_;
  Size2d stride_;
  Size2d padding_;
};

template <typename T>
class AvgPool2d : public Module<T> {
 public:
  // stride defaults to the kernel; padding (at most half the kernel) counts as zeros in the
  // mean when count_include_pad (PyTorch's default).
  explicit AvgPool2d(Size2d kernel_size, std::optional<Size2d> stride = std::nullopt, Size2d padding = 0,
                     bool count_include_pad = true);

  // x (B, C, H, W) -> (B, C, H_out, W_out).
  Tensor<T> forward(const Tensor<T>& x) const {
    return avg_pool2d(x, kernel_size_, stride_, padding_, count_include_pad_);
  }

 private:
  Size2d kernel_size_;
  Size2d stride_;
  Size2d padding_;
  bool count_include_pad_;
};

extern template class MaxPool2d<float>;
extern template class MaxPool2d<double>;
extern template class AvgPool2d<float>;
extern template class AvgPool2d<double>;

}  // namespace attend::nn
