#include "core/sum_over_axes.h"

#include <algorithm>

#include "attend/core/error.h"
#include "attend/core/parallel.h"

namespace attend::detail {
namespace {

// rows[(outer, inner)] -> out[outer], each result summed in index order in double.
template <typename T>
void sum_rows(const T* rows, int64_t outer, int64_t inner, T* out) {
  parallel_for(outer, std::max<int64_t>(1, 4096 / std::max<int64_t>(inner, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      double total = 0.0;
      const T* row = rows + o * inner;
      for (int64_t i = 0; i < inner; ++i) total += static_cast<double>(row[i]);
      out[o] = static_cast<T>(total);
    }
  });
}

// columns[(inner, outer)] -> out[outer]: out[o] = sum over i of columns[i, o], in double and in
// index order i, as sum_rows adds them, so both give the same bits. For a contiguous x reduced
// over its leading axes (a bias gradient: (N, E) -> (E)) this reads x in place instead of
// transposing it first. Each thread owns a block of columns.
template <typename T>
void sum_columns(const T* columns, int64_t inner, int64_t outer, T* out) {
  constexpr int64_t kBlock = 256;  // columns per block: its double accumulators stay in L1
  const int64_t blocks = (outer + kBlock - 1) / kBlock;
  parallel_for(blocks, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner * kBlock, 1)),
               [&](int64_t begin, int64_t end) {
                 double total[kBlock];
                 for (int64_t block = begin; block < end; ++block) {
                   const int64_t first = block * kBlock, width = std::min(kBlock, outer - first);
                   std::fill_n(total, width, 0.0);
                   for (int64_t i = 0; i < inner; ++i) {
                     const T* row = columns + i * outer + first;
                     for (int64_t o = 0; o < width; ++o) total[o] += static_cast<double>(row[o]);
                   }
                   for (int64_t o = 0; o < width; ++o) out[first + o] = static_cast<T>(total[o]);
                 }
               });
}

// True when the reduced axes come first in `permutation`'s original order, i.e. the plan's
// (kept, reduced) order is a rotation that moves a leading block of axes to the end.
bool reduces_leading_axes(const ReductionPlan& plan, int64_t rank) {
  const int64_t kept = static_cast<int64_t>(plan.kept_shape.size());
  for (int64_t a = 0; a < rank; ++a) {
    const int64_t expected = a < kept ? rank - kept + a : a - kept;
    if (plan.permutation[a] != expected) return false;
  }
  return true;
}

}  // namespace

ReductionPlan plan_reduction(const Shape& shape, const std::vector<int64_t>& axes, const char* op) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  std::vector<bool> reduced(rank, false);
  for (int64_t axis : axes) {
    const int a = normalize_axis(axis, rank, op);
    ATTEND_CHECK(!reduced[a], ValueError, "{}: axis {} is listed twice for shape {}", op, axis, shape_string(shape));
    reduced[a] = true;
  }
  ReductionPlan plan;
  for (int64_t a = 0; a < rank; ++a) {
    if (reduced[a]) {
      plan.keepdim_shape.push_back(1);
      continue;
    }
    plan.permutation.push_back(a);
    plan.kept_shape.push_back(shape[a]);
    plan.keepdim_shape.push_back(shape[a]);
    plan.outer *= shape[a];
  }
  for (int64_t a = 0; a < rank; ++a) {
    if (!reduced[a]) continue;
    plan.permutation.push_back(a);
    plan.inner *= shape[a];
  }
  return plan;
}

template <typename T>
Tensor<T> sum_over_axes(const Tensor<T>& x, const ReductionPlan& plan, bool keepdim) {
  Tensor<T> out = Tensor<T>::empty(keepdim ? plan.keepdim_shape : plan.kept_shape);
  if (x.is_contiguous() && reduces_leading_axes(plan, x.rank())) {
    sum_columns(x.data(), plan.inner, plan.outer, out.data());
  } else {
    const Tensor<T> rows = x.detach().permute(plan.permutation).contiguous();
    sum_rows(rows.data(), plan.outer, plan.inner, out.data());
  }
  return out;
}

std::vector<int64_t> broadcast_axes(const Shape& shape, const Shape& broadcast, const char* op) {
  ATTEND_CHECK(broadcast_shapes(shape, broadcast, op) == broadcast, ShapeError, "{}: shape {} does not broadcast to {}",
               op, shape_string(shape), shape_string(broadcast));
  const int64_t rank = static_cast<int64_t>(broadcast.size());
  const int64_t lead = rank - static_cast<int64_t>(shape.size());
  std::vector<int64_t> axes;
  for (int64_t a = 0; a < rank; ++a) {
    if (a < lead || (shape[a - lead] == 1 && broadcast[a] != 1)) axes.push_back(a);
  }
  return axes;
}

template Tensor<float> sum_over_axes(const Tensor<float>&, const ReductionPlan&, bool);
template Tensor<double> sum_over_axes(const Tensor<double>&, const ReductionPlan&, bool);

}  // namespace attend::detail
