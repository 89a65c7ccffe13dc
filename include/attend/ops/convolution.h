// Two-dimensional convolution and pooling over (B, C, H, W) images, differentiable.
//
// Output size along each spatial axis (no dilation, floor rounding, as PyTorch's defaults):
//
//   H_out = floor((H + 2 * padding - kernel) / stride) + 1
//
// conv2d is im2col followed by one BLAS product per image (Chellapilla, Puri & Simard 2006,
// "High performance convolutional neural networks for document processing"): the patches under
// every kernel position become the columns of a matrix, and the convolution is
// W (C_out, C_in kH kW) @ columns (C_in kH kW, H_out W_out). Its backward is matmul's backward
// followed by col2im, which adds each column entry back to the pixel it was copied from.
//
// Pooling downsamples each channel on its own: the mean of a window (the subsampling layers of
// LeCun et al. 1998, "Gradient-based learning applied to document recognition") or its maximum
// (Ranzato et al. 2007, "Unsupervised learning of invariant feature hierarchies").
//
// Threads: every kernel here is split over (batch, channel) planes. A plane is written by one
// thread in a fixed loop order, so results are bitwise independent of the thread count; col2im
// and the pool backwards accumulate overlapping windows inside one plane, sequentially.
#pragma once

#include <cstdint>
#include <optional>

#include "attend/core/tensor.h"

namespace attend {

// A (height, width) pair for kernel sizes, strides and paddings. An integer means both, as in
// PyTorch: conv2d(x, w, b, /*stride=*/2) or conv2d(x, w, b, {2, 1}, {1, 0}).
struct Size2d {
  int64_t height = 0;
  int64_t width = 0;
  Size2d(int64_t both) : height(both), width(both) {}  // NOLINT: implicit by design
  Size2d(int64_t h, int64_t w) : height(h), width(w) {}
  bool operator==(const Size2d&) const = default;
};

// x (B, C, H, W) -> columns (B, C kH kW, H_out W_out), torch.nn.functional.unfold without
// dilation:
//   columns[b, (c kH + i) kW + j, oh W_out + ow] = x[b, c, oh sH - pH + i, ow sW - pW + j]
// (zero where that pixel lies in the padding). Row order matches weight.reshape(C_out, -1).
// Backward: col2im.
template <typename T>
Tensor<T> im2col(const Tensor<T>& x, Size2d kernel, Size2d stride = 1, Size2d padding = 0);

// The non-overlapping p x p patches of x as tokens, for a ViT's patch embedding (Dosovitskiy et
// al. 2021): im2col with kernel = stride = p, patches first:
//   x (B, C, H, W) -> patches (B, (H / p)(W / p), C p p)
//   patches[b, r (W / p) + s, (c p + i) p + j] = x[b, c, r p + i, s p + j]
// with r, s the patch's row and column. Differentiable. ShapeError unless x has rank 4 and
// p (>= 1) divides H and W.
template <typename T>
Tensor<T> image_patches(const Tensor<T>& x, int64_t patch_size);

// x (B, C_in, H, W), weight (C_out, C_in, kH, kW), bias (C_out) or undefined
// -> (B, C_out, H_out, W_out):
//   out[b, o, oh, ow] = bias[o] + sum_{c, i, j} weight[o, c, i, j] x[b, c, oh sH - pH + i, ow sW - pW + j]
// (cross-correlation, as every deep learning library; zero padding).
template <typename T>
Tensor<T> conv2d(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>(), Size2d stride = 1,
                 Size2d padding = 0);

// x (B, C, H, W) -> (B, C, H_out, W_out): the maximum over each kernel window; padding counts
// as -inf (at most half the kernel, so that every window holds a pixel). stride defaults to the
// kernel. The gradient goes to the window's argmax; ties go to the first position in row-major
// window order. NaN wins over every number (as in PyTorch).
template <typename T>
Tensor<T> max_pool2d(const Tensor<T>& x, Size2d kernel, std::optional<Size2d> stride = std::nullopt,
                     Size2d padding = 0);

// x (B, C, H, W) -> (B, C, H_out, W_out): the mean over each kernel window. Padding counts as
// zeros in the mean when count_include_pad (PyTorch's default: the divisor is always kH kW),
// else the divisor is the number of real pixels in the window. stride defaults to the kernel.
template <typename T>
Tensor<T> avg_pool2d(const Tensor<T>& x, Size2d kernel, std::optional<Size2d> stride = std::nullopt, Size2d padding = 0,
                     bool count_include_pad = true);

}  // namespace attend
