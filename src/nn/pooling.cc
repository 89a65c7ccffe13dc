#include "attend/nn/pooling.h"

#include "attend/core/error.h"

namespace attend::nn {
namespace {

// The window checks of the pooling ops, at construction rather than at the first forward.
void check_window(const char* layer, Size2d kernel, Size2d stride, Size2d padding) {
  ATTEND_CHECK(kernel.height > 0 && kernel.width > 0 && stride.height > 0 && stride.width > 0, ValueError,
               "{}: kernel_size ({}, {}) and stride ({}, {}) must be positive", layer, kernel.height, kernel.width,
               stride.height, stride.width);
  ATTEND_CHECK(padding.height >= 0 && padding.width >= 0 && 2 * padding.height <= kernel.height &&
                   2 * padding.width <= kernel.width,
               ValueError, "{}: padding ({}, {}) must be in [0, half the kernel ({}, {})]", layer, padding.height,
               padding.width, kernel.height, kernel.width);
}

}  // namespace

template <typename T>
MaxPool2d<T>::MaxPool2d(Size2d kernel_size, std::optional<Size2d> stride, Size2d padding)
    : kernel_size_(kernel_size), stride_(stride.value_or(kernel_size)), padding_(padding) {
  check_window("MaxPool2d", kernel_size_, stride_, padding_);
}

template <typename T>
AvgPool2d<T>::AvgPool2d(Size2d kernel_size, std::optional<Size2d> stride, Size2d padding, bool count_include_pad)
    : kernel_size_(kernel_size),
      stride_(stride.value_or(kernel_size)),
      padding_(padding),
      count_include_pad_(count_include_pad) {
  check_window("AvgPool2d", kernel_size_, stride_, padding_);
}

template class MaxPool2d<float>;
template class MaxPool2d<double>;
template class AvgPool2d<float>;
template class AvgPool2d<double>;

}  // namespace attend::nn
