// Internal: sums over axes, the kernel under ops' sum and the backward of Tensor::expand (whose
// adjoint is a sum over the broadcast axes). Sums accumulate in double, in index order, so a
// result does not depend on the thread count. No autograd here: callers record what they need.
#pragma once

#include <cstdint>
#include <vector>

#include "attend/core/tensor.h"

namespace attend::detail {

struct ReductionPlan {
  std::vector<int64_t> permutation;  // kept axes first, then reduced axes
  Shape kept_shape;                  // result shape without keepdim
  Shape keepdim_shape;               // result shape with the reduced axes as size 1
  int64_t outer = 1;                 // number of results
  int64_t inner = 1;                 // elements reduced into each result
};

// The plan for reducing `shape` over `axes` (negative axes count from the end; ValueError naming
// `op` for an axis listed twice).
ReductionPlan plan_reduction(const Shape& shape, const std::vector<int64_t>& axes, const char* op);

// x (shape) -> out (plan's keepdim_shape when keepdim, else kept_shape): the sums of x over the
// plan's reduced axes, in a new row-major tensor without autograd history.
template <typename T>
Tensor<T> sum_over_axes(const Tensor<T>& x, const ReductionPlan& plan, bool keepdim);

// The axes of `broadcast` along which `shape` was broadcast to it: new leading axes and axes of
// size 1 that grew. ShapeError naming `op` unless `shape` broadcasts to exactly `broadcast`.
std::vector<int64_t> broadcast_axes(const Shape& shape, const Shape& broadcast, const char* op);

}  // namespace attend::detail
