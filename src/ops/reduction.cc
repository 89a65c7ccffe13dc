#include "attend/ops/reduction.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/ops/elementwise.h"
#include "core/sum_over_axes.h"

namespace attend {

template <typename T>
Tensor<T> sum(const Tensor<T>& x, const std::vector<int64_t>& axes, bool keepdim) {
  const detail::ReductionPlan plan = detail::plan_reduction(x.shape(), axes, "sum");
  const Tensor<T> out = detail::sum_over_axes(x, plan, keepdim);
  return record_op<T>("sum", out, {x}, [shape = x.shape(), keep = plan.keepdim_shape](const Tensor<T>& g) {
    // forward: out[kept] = sum over reduced axes of x;  every x element gets its result's gradient
    return std::vector<Tensor<T>>{g.reshape(keep).expand(shape).contiguous()};
  });
}

template <typename T>
Tensor<T> sum(const Tensor<T>& x) {
  std::vector<int64_t> all(x.rank());
  for (int64_t a = 0; a < x.rank(); ++a) all[a] = a;
  return sum(x, all, false);
}

template <typename T>
Tensor<T> mean(const Tensor<T>& x, const std::vector<int64_t>& axes, bool keepdim) {
  const detail::ReductionPlan plan = detail::plan_reduction(x.shape(), axes, "mean");
  return mul_scalar(sum(x, axes, keepdim), T(1) / static_cast<T>(plan.inner));
}

template <typename T>
Tensor<T> mean(const Tensor<T>& x) {
  const T count = static_cast<T>(x.numel());
  return mul_scalar(sum(x), T(1) / count);
}

template <typename T>
Tensor<T> sum_to(const Tensor<T>& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return sum(x, detail::broadcast_axes(shape, x.shape(), "sum_to"), true).reshape(shape);
}

template <typename T>
Tensor<T> max(const Tensor<T>& x, int64_t axis, bool keepdim) {
  ATTEND_CHECK(x.rank() > 0 && x.size(axis) > 0, ValueError, "max: cannot reduce an empty axis {} of shape {}", axis,
               shape_string(x.shape()));
  const detail::ReductionPlan plan = detail::plan_reduction(x.shape(), {axis}, "max");
  const Tensor<T> rows = x.detach().permute(plan.permutation).contiguous();
  Tensor<T> out = Tensor<T>::empty(keepdim ? plan.keepdim_shape : plan.kept_shape);
  const T* in = rows.data();
  T* o = out.data();
  for (int64_t r = 0; r < plan.outer; ++r) {
    T best = -std::numeric_limits<T>::infinity();
    for (int64_t i = 0; i < plan.inner; ++i) {
      const T v = in[r * plan.inner + i];
      if (std::isnan(v)) {
        best = v;
        break;
      }
      best = std::max(best, v);
    }
    o[r] = best;
  }
  return out;
}

#define ATTEND_INSTANTIATE(T)                                                   \
  template Tensor<T> sum(const Tensor<T>&, const std::vector<int64_t>&, bool);  \
  template Tensor<T> sum(const Tensor<T>&);                                     \
  template Tensor<T> mean(const Tensor<T>&, const std::vector<int64_t>&, bool); \
  template Tensor<T> mean(const Tensor<T>&);                                    \
  template Tensor<T> sum_to(const Tensor<T>&, const Shape&);                    \
  template Tensor<T> max(const Tensor<T>&, int64_t, bool);
ATTEND_INSTANTIATE(float)
ATTEND_INSTANTIATE(double)
#undef ATTEND_INSTANTIATE

}  // namespace attend
