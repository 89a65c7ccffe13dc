// Internal: ops that work on rows along one axis move that axis last and make it contiguous.
#pragma once

#include "attend/core/error.h"
#include "attend/core/tensor.h"

namespace attend::detail {

// x with `axis` moved last, contiguous, detached: rows of length x.size(axis).
template <typename T>
Tensor<T> rows_along(const Tensor<T>& x, int axis) {
  const Tensor<T> detached = x.detach();
  return axis == x.rank() - 1 ? detached.contiguous() : detached.transpose(axis, -1).contiguous();
}

// Inverse of rows_along: a tensor laid out as rows back to the original axis order.
template <typename T>
Tensor<T> from_rows(const Tensor<T>& rows, int axis) {
  return axis == rows.rank() - 1 ? rows : rows.transpose(axis, -1).contiguous();
}

}  // namespace attend::detail
