// Internal: iteration over the elements of K strided operands that share one (broadcast) shape.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "attend/core/parallel.h"
#include "attend/core/shape.h"
#include "attend/core/tensor.h"

namespace attend::detail {

// Calls row(offsets, inner_strides, count) once per innermost row of `shape`, where offsets[k]
// is the element offset of the row's first element in operand k and inner_strides[k] the step
// along the last axis. Rows are distributed with parallel_for when `parallel`; each row is
// visited exactly once, so element-wise work is independent of the thread count.
template <size_t K, typename RowFn>
void for_each_row(const Shape& shape, const std::array<Strides, K>& strides, RowFn&& row, bool parallel = true) {
  const size_t rank = shape.size();
  std::array<int64_t, K> zero{};
  if (rank == 0) {
    row(zero, zero, int64_t{1});
    return;
  }
  int64_t rows = 1;
  for (size_t axis = 0; axis + 1 < rank; ++axis) rows *= shape[axis];
  const int64_t inner = shape[rank - 1];
  if (rows == 0 || inner == 0) return;
  std::array<int64_t, K> inner_strides;
  for (size_t k = 0; k < K; ++k) inner_strides[k] = strides[k][rank - 1];

  auto run_rows = [&](int64_t begin, int64_t end) {
    // Multi-index of row `begin` over the outer axes, then an odometer.
    std::vector<int64_t> index(rank - 1, 0);
    std::array<int64_t, K> offsets{};
    int64_t remaining = begin;
    for (size_t axis = rank - 1; axis-- > 0;) {
      index[axis] = remaining % shape[axis];
      remaining /= shape[axis];
      for (size_t k = 0; k < K; ++k) offsets[k] += index[axis] * strides[k][axis];
    }
    for (int64_t r = begin; r < end; ++r) {
      row(offsets, inner_strides, inner);
      for (size_t axis = rank - 1; axis-- > 0;) {
        if (++index[axis] < shape[axis]) {
          for (size_t k = 0; k < K; ++k) offsets[k] += strides[k][axis];
          break;
        }
        for (size_t k = 0; k < K; ++k) offsets[k] -= (shape[axis] - 1) * strides[k][axis];
        index[axis] = 0;
      }
    }
  };
  if (parallel) {
    parallel_for(rows, std::max<int64_t>(1, 16384 / inner), run_rows);
  } else {
    run_rows(0, rows);
  }
}

// Strides of a view of `strides`/`shape` broadcast to `target` (stride 0 on broadcast axes).
inline Strides broadcast_strides(const Shape& shape, const Strides& strides, const Shape& target) {
  Strides out(target.size(), 0);
  const size_t lead = target.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i) out[lead + i] = shape[i] == 1 ? 0 : strides[i];
  return out;
}

// out[i] = f(a[i], b[i]) over `shape`, to which a and b broadcast (checked by the caller), into a
// new row-major tensor: one flat loop when a and b are contiguous at that shape, else row by row.
// Each element is computed once, by one thread, so the result does not depend on the thread
// count. Ops' binary maps and the tape's sum of two gradients both run it, so they round alike.
template <typename T, typename F>
Tensor<T> map_binary_over(const Shape& shape, const Tensor<T>& a, const Tensor<T>& b, F f) {
  Tensor<T> out = Tensor<T>::empty(shape);  // (shape), row-major
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
                  [&](const std::array<int64_t, 3>& offsets, const std::array<int64_t, 3>& steps, int64_t count) {
                    T* orow = o + offsets[0];
                    const T* arow = pa + offsets[1];
                    const T* brow = pb + offsets[2];
                    for (int64_t i = 0; i < count; ++i) orow[i] = f(arow[i * steps[1]], brow[i * steps[2]]);
                  });
  return out;
}

}  // namespace attend::detail
