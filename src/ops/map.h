// Internal: element-wise maps over one or two (broadcast) operands into a new contiguous tensor.
#pragma once

#include "attend/core/error.h"
#include "attend/core/tensor.h"
#include "core/strided_loop.h"

namespace attend::detail {

// out[i] = f(x[i]).
template <typename T, typename F>
Tensor<T> map_unary(const Tensor<T>& x, F f) {
  Tensor<T> out = Tensor<T>::empty(x.shape());
  T* o = out.data();
  const T* in = x.data();
  if (x.is_contiguous()) {
    parallel_for(x.numel(), 16384, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) o[i] = f(in[i]);
    });
    return out;
  }
  for_each_row<2>(x.shape(), {out.strides(), x.strides()},
                  [&](const std::array<int64_t, 2>& offsets, const std::array<int64_t, 2>& steps,
                      int64_t count) {
                    for (int64_t i = 0; i < count; ++i) {
                      o[offsets[0] + i] = f(in[offsets[1] + i * steps[1]]);
                    }
                  });
  return out;
}

// out[i] = f(a[i], b[i]) over broadcast_shapes(a, b); `op` names the caller in errors.
template <typename T, typename F>
Tensor<T> map_binary(const Tensor<T>& a, const Tensor<T>& b, const char* op, F f) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor<T> out = Tensor<T>::empty(shape);
  T* o = out.data();
  const T* pa = a.data();
  const T* pb = b.data();
  if (a.shape() == shape && b.shape() == shape && a.is_contiguous() && b.is_contiguous()) {
    parallel_for(out.numel(), 16384, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) o[i] = f(pa[i], pb[i]);
    });
    return out;
  }
  for_each_row<3>(shape,
                  {out.strides(), broadcast_strides(a.shape(), a.strides(), shape),
                   broadcast_strides(b.shape(), b.strides(), shape)},
                  [&](const std::array<int64_t, 3>& offsets, const std::array<int64_t, 3>& steps,
                      int64_t count) {
                    T* orow = o + offsets[0];
                    const T* arow = pa + offsets[1];
                    const T* brow = pb + offsets[2];
                    for (int64_t i = 0; i < count; ++i) orow[i] = f(arow[i * steps[1]], brow[i * steps[2]]);
                  });
  return out;
}

}  // namespace attend::detail
