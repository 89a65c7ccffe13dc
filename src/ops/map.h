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
                  [&](const std::array<int64_t, 2>& offsets, const std::array<int64_t, 2>& steps, int64_t count) {
                    for (int64_t i = 0; i < count; ++i) {
                      o[offsets[0] + i] = f(in[offsets[1] + i * steps[1]]);
                    }
                  });
  return out;
}

// out[i] = f(a[i], b[i]) over broadcast_shapes(a, b); `op` names the caller in errors.
template <typename T, typename F>
Tensor<T> map_binary(const Tensor<T>& a, const Tensor<T>& b, const char* op, F f) {
  return map_binary_over(broadcast_shapes(a.shape(), b.shape(), op), a, b, f);
}

}  // namespace attend::detail
