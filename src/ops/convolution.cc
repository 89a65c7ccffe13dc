#include "attend/ops/convolution.h"

#include <cmath>
#include <limits>
#include <vector>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/matmul.h"

namespace attend {
namespace {

// Below this many element visits a chunk of planes is not worth waking a thread for.
constexpr int64_t kMinWorkPerChunk = 1 << 15;

// The sizes of one sliding-window op over (B, C, H, W) images.
struct WindowGeometry {
  int64_t batch, channels, height, width;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
  int64_t out_h, out_w;

  int64_t planes() const { return batch * channels; }
  int64_t plane_size() const { return height * width; }
  int64_t out_plane_size() const { return out_h * out_w; }
  int64_t window_size() const { return kernel_h * kernel_w; }
  // parallel_for grain: whole planes, enough of them to amortize a thread's start.
  int64_t grain() const {
    return std::max<int64_t>(1, kMinWorkPerChunk / std::max<int64_t>(1, window_size() * out_plane_size()));
  }

  // The input rows [h_begin, h_end) and columns [w_begin, w_end) that the window of each output
  // position (oh, ow) covers inside the image (padding cut off), in row-major output order:
  // visit(oh * out_w + ow, h_begin, h_end, w_begin, w_end).
  template <typename Visit>
  void for_each_window(Visit&& visit) const {
    for (int64_t oh = 0; oh < out_h; ++oh) {
      const int64_t h0 = oh * stride_h - pad_h;
      const int64_t h_begin = std::max<int64_t>(h0, 0), h_end = std::min(h0 + kernel_h, height);
      for (int64_t ow = 0; ow < out_w; ++ow) {
        const int64_t w0 = ow * stride_w - pad_w;
        const int64_t w_begin = std::max<int64_t>(w0, 0), w_end = std::min(w0 + kernel_w, width);
        visit(oh * out_w + ow, h_begin, h_end, w_begin, w_end);
      }
    }
  }
};

// Validates the input's rank and the window parameters of `op`; computes the output size.
WindowGeometry window_geometry(const char* op, const Shape& x, Size2d kernel, Size2d stride, Size2d padding) {
  ATTEND_CHECK(x.size() == 4, ShapeError, "{}: input {} must be (B, C, H, W)", op, shape_string(x));
  ATTEND_CHECK(x[2] > 0 && x[3] > 0, ShapeError, "{}: input {} has an empty image (H or W is 0)", op, shape_string(x));
  ATTEND_CHECK(kernel.height > 0 && kernel.width > 0, ValueError, "{}: kernel size ({}, {}) must be positive", op,
               kernel.height, kernel.width);
  ATTEND_CHECK(stride.height > 0 && stride.width > 0, ValueError, "{}: stride ({}, {}) must be positive", op,
               stride.height, stride.width);
  ATTEND_CHECK(padding.height >= 0 && padding.width >= 0, ValueError, "{}: padding ({}, {}) must be non-negative", op,
               padding.height, padding.width);
  const int64_t padded_h = checked_add(x[2], 2 * padding.height);
  const int64_t padded_w = checked_add(x[3], 2 * padding.width);
  ATTEND_CHECK(padded_h >= kernel.height && padded_w >= kernel.width, ShapeError,
               "{}: kernel ({}, {}) is larger than input {} padded by ({}, {})", op, kernel.height, kernel.width,
               shape_string(x), padding.height, padding.width);
  WindowGeometry g{x[0],           x[1],          x[2], x[3], kernel.height, kernel.width, stride.height, stride.width,
                   padding.height, padding.width, 0,    0};
  g.out_h = (padded_h - kernel.height) / stride.height + 1;
  g.out_w = (padded_w - kernel.width) / stride.width + 1;
  return g;
}

// ---- im2col / col2im ----

// columns[p, i kW + j, oh W_out + ow] = x[p, oh sH - pH + i, ow sW - pW + j], p = (b, c) plane.
// x (P, H, W) and columns (P, kH kW, L) contiguous.
template <typename T>
void im2col_kernel(const T* x, const WindowGeometry& g, T* columns) {
  const int64_t L = g.out_plane_size();
  parallel_for(g.planes(), g.grain(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* plane = x + p * g.plane_size();
      for (int64_t i = 0; i < g.kernel_h; ++i) {
        for (int64_t j = 0; j < g.kernel_w; ++j) {
          T* row = columns + (p * g.window_size() + i * g.kernel_w + j) * L;
          for (int64_t oh = 0; oh < g.out_h; ++oh) {
            const int64_t ih = oh * g.stride_h - g.pad_h + i;
            T* out = row + oh * g.out_w;
            if (ih < 0 || ih >= g.height) {
              std::fill_n(out, g.out_w, T(0));
              continue;
            }
            for (int64_t ow = 0; ow < g.out_w; ++ow) {
              const int64_t iw = ow * g.stride_w - g.pad_w + j;
              out[ow] = iw >= 0 && iw < g.width ? plane[ih * g.width + iw] : T(0);
            }
          }
        }
      }
    }
  });
}

// The adjoint of im2col_kernel: dx (P, H, W) = sum of the column entries copied from each pixel.
// One thread owns a plane and adds its kH kW rows in order, so overlapping windows
// (stride < kernel) accumulate deterministically.
template <typename T>
void col2im_kernel(const T* columns, const WindowGeometry& g, T* dx) {
  const int64_t L = g.out_plane_size();
  parallel_for(g.planes(), g.grain(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      T* plane = dx + p * g.plane_size();
      std::fill_n(plane, g.plane_size(), T(0));
      for (int64_t i = 0; i < g.kernel_h; ++i) {
        for (int64_t j = 0; j < g.kernel_w; ++j) {
          const T* row = columns + (p * g.window_size() + i * g.kernel_w + j) * L;
          for (int64_t oh = 0; oh < g.out_h; ++oh) {
            const int64_t ih = oh * g.stride_h - g.pad_h + i;
            if (ih < 0 || ih >= g.height) continue;
            for (int64_t ow = 0; ow < g.out_w; ++ow) {
              const int64_t iw = ow * g.stride_w - g.pad_w + j;
              // forward: columns[p, i kW + j, oh W_out + ow] = x[p, ih, iw]
              if (iw >= 0 && iw < g.width) plane[ih * g.width + iw] += row[oh * g.out_w + ow];
            }
          }
        }
      }
    }
  });
}

// ---- pooling kernels ----

// out[p, oh, ow] = max over the window; argmax[p, oh, ow] = the plane index of the first maximum.
template <typename T>
void max_pool_kernel(const T* x, const WindowGeometry& g, T* out, int64_t* argmax) {
  parallel_for(g.planes(), g.grain(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* plane = x + p * g.plane_size();
      g.for_each_window([&](int64_t at, int64_t h_begin, int64_t h_end, int64_t w_begin, int64_t w_end) {
        T best = -std::numeric_limits<T>::infinity();
        int64_t best_at = -1;
        for (int64_t ih = h_begin; ih < h_end; ++ih) {
          for (int64_t iw = w_begin; iw < w_end; ++iw) {
            const T v = plane[ih * g.width + iw];
            // Strictly greater keeps the first of equal maxima; a NaN replaces any number.
            if (best_at < 0 || v > best || (std::isnan(v) && !std::isnan(best))) {
              best = v;
              best_at = ih * g.width + iw;
            }
          }
        }
        out[p * g.out_plane_size() + at] = best;
        argmax[p * g.out_plane_size() + at] = best_at;
      });
    }
  });
}

// out[p, oh, ow] = sum over the window's real pixels / divisor (accumulated in double).
template <typename T>
void avg_pool_kernel(const T* x, const WindowGeometry& g, bool count_include_pad, T* out) {
  parallel_for(g.planes(), g.grain(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* plane = x + p * g.plane_size();
      g.for_each_window([&](int64_t at, int64_t h_begin, int64_t h_end, int64_t w_begin, int64_t w_end) {
        double total = 0.0;
        for (int64_t ih = h_begin; ih < h_end; ++ih) {
          for (int64_t iw = w_begin; iw < w_end; ++iw) total += plane[ih * g.width + iw];
        }
        const int64_t divisor = count_include_pad ? g.window_size() : (h_end - h_begin) * (w_end - w_begin);
        out[p * g.out_plane_size() + at] = static_cast<T>(total / static_cast<double>(divisor));
      });
    }
  });
}

template <typename T>
Tensor<T> image_input(const Tensor<T>& x) {
  return x.detach().contiguous();
}

}  // namespace

template <typename T>
Tensor<T> im2col(const Tensor<T>& x, Size2d kernel, Size2d stride, Size2d padding) {
  const WindowGeometry g = window_geometry("im2col", x.shape(), kernel, stride, padding);
  const Tensor<T> input = image_input(x);                                                             // (B, C, H, W)
  Tensor<T> columns = Tensor<T>::empty({g.batch, g.channels * g.window_size(), g.out_plane_size()});  // (B, C kH kW, L)
  im2col_kernel(input.data(), g, columns.data());
  return record_op<T>("im2col", columns, {x}, [g](const Tensor<T>& grad_columns) {
    const Tensor<T> dcolumns = grad_columns.contiguous();  // (B, C kH kW, L)
    Tensor<T> dx = Tensor<T>::empty({g.batch, g.channels, g.height, g.width});
    col2im_kernel(dcolumns.data(), g, dx.data());
    return std::vector<Tensor<T>>{dx};
  });
}

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

template <typename T>
Tensor<T> conv2d(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias, Size2d stride, Size2d padding) {
  ATTEND_CHECK(weight.rank() == 4, ShapeError, "conv2d: weight {} must be (C_out, C_in, kH, kW)",
               shape_string(weight.shape()));
  ATTEND_CHECK(x.rank() == 4 && x.size(1) == weight.size(1), ShapeError,
               "conv2d: input {} must be (B, C_in, H, W) with C_in = {} as in weight {}", shape_string(x.shape()),
               weight.size(1), shape_string(weight.shape()));
  const int64_t out_channels = weight.size(0);
  ATTEND_CHECK(out_channels > 0, ShapeError, "conv2d: weight {} has no output channels", shape_string(weight.shape()));
  ATTEND_CHECK(!bias.defined() || bias.shape() == Shape{out_channels}, ShapeError,
               "conv2d: bias {} must be ({}) for weight {}", bias.defined() ? shape_string(bias.shape()) : "",
               out_channels, shape_string(weight.shape()));
  const Size2d kernel{weight.size(2), weight.size(3)};
  const WindowGeometry g = window_geometry("conv2d", x.shape(), kernel, stride, padding);
  // A 1x1 kernel at stride 1 without padding needs no patches: the columns are the image itself.
  const bool pointwise = kernel == Size2d{1} && stride == Size2d{1} && padding == Size2d{0};
  const Tensor<T> columns = pointwise ? x.reshape({g.batch, g.channels, g.plane_size()})
                                      : im2col(x, kernel, stride, padding);                // (B, C_in kH kW, L)
  const Tensor<T> filters = weight.reshape({out_channels, g.channels * g.window_size()});  // (C_out, C_in kH kW)
  Tensor<T> out =
      matmul(filters, columns).reshape({g.batch, out_channels, g.out_h, g.out_w});  // (B, C_out, H_out, W_out)
  if (bias.defined()) out = add(out, bias.reshape({out_channels, 1, 1}));
  return out;
}

template <typename T>
Tensor<T> max_pool2d(const Tensor<T>& x, Size2d kernel, std::optional<Size2d> stride, Size2d padding) {
  const WindowGeometry g = window_geometry("max_pool2d", x.shape(), kernel, stride.value_or(kernel), padding);
  ATTEND_CHECK(2 * padding.height <= kernel.height && 2 * padding.width <= kernel.width, ValueError,
               "max_pool2d: padding ({}, {}) must be at most half the kernel ({}, {})", padding.height, padding.width,
               kernel.height, kernel.width);
  const Tensor<T> input = image_input(x);                                     // (B, C, H, W)
  Tensor<T> out = Tensor<T>::empty({g.batch, g.channels, g.out_h, g.out_w});  // (B, C, H_out, W_out)
  std::vector<int64_t> argmax(static_cast<size_t>(out.numel()));              // (B, C, H_out, W_out), plane index
  max_pool_kernel(input.data(), g, out.data(), argmax.data());
  return record_op<T>("max_pool2d", out, {x}, [g, argmax = std::move(argmax)](const Tensor<T>& grad_out) {
    const Tensor<T> dy = grad_out.contiguous();  // (B, C, H_out, W_out)
    Tensor<T> dx = Tensor<T>::zeros({g.batch, g.channels, g.height, g.width});
    parallel_for(g.planes(), g.grain(), [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        T* plane = dx.data() + p * g.plane_size();
        for (int64_t o = p * g.out_plane_size(); o < (p + 1) * g.out_plane_size(); ++o) {
          // forward: out[o] = plane[argmax[o]]
          plane[argmax[o]] += dy.data()[o];
        }
      }
    });
    return std::vector<Tensor<T>>{dx};
  });
}

template <typename T>
Tensor<T> avg_pool2d(const Tensor<T>& x, Size2d kernel, std::optional<Size2d> stride, Size2d padding,
                     bool count_include_pad) {
  const WindowGeometry g = window_geometry("avg_pool2d", x.shape(), kernel, stride.value_or(kernel), padding);
  ATTEND_CHECK(2 * padding.height <= kernel.height && 2 * padding.width <= kernel.width, ValueError,
               "avg_pool2d: padding ({}, {}) must be at most half the kernel ({}, {})", padding.height, padding.width,
               kernel.height, kernel.width);
  const Tensor<T> input = image_input(x);                                     // (B, C, H, W)
  Tensor<T> out = Tensor<T>::empty({g.batch, g.channels, g.out_h, g.out_w});  // (B, C, H_out, W_out)
  avg_pool_kernel(input.data(), g, count_include_pad, out.data());
  return record_op<T>("avg_pool2d", out, {x}, [g, count_include_pad](const Tensor<T>& grad_out) {
    const Tensor<T> dy = grad_out.contiguous();  // (B, C, H_out, W_out)
    Tensor<T> dx = Tensor<T>::zeros({g.batch, g.channels, g.height, g.width});
    parallel_for(g.planes(), g.grain(), [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        T* plane = dx.data() + p * g.plane_size();
        const T* dy_plane = dy.data() + p * g.out_plane_size();
        g.for_each_window([&](int64_t at, int64_t h_begin, int64_t h_end, int64_t w_begin, int64_t w_end) {
          const int64_t divisor = count_include_pad ? g.window_size() : (h_end - h_begin) * (w_end - w_begin);
          // forward: out[o] = sum over the window of plane[ih, iw] / divisor
          const T share = dy_plane[at] / static_cast<T>(divisor);
          for (int64_t ih = h_begin; ih < h_end; ++ih) {
            for (int64_t iw = w_begin; iw < w_end; ++iw) plane[ih * g.width + iw] += share;
          }
        });
      }
    });
    return std::vector<Tensor<T>>{dx};
  });
}

#define ATTEND_INSTANTIATE(T)                                                                      \
  template Tensor<T> im2col(const Tensor<T>&, Size2d, Size2d, Size2d);                             \
  template Tensor<T> image_patches(const Tensor<T>&, int64_t);                                     \
  template Tensor<T> conv2d(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, Size2d, Size2d); \
  template Tensor<T> max_pool2d(const Tensor<T>&, Size2d, std::optional<Size2d>, Size2d);          \
  template Tensor<T> avg_pool2d(const Tensor<T>&, Size2d, std::optional<Size2d>, Size2d, bool);
ATTEND_INSTANTIATE(float)
ATTEND_INSTANTIATE(double)
#undef ATTEND_INSTANTIATE

}  // namespace attend
