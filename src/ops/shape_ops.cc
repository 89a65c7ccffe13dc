#include "attend/ops/shape_ops.h"

#include "attend/core/autograd.h"
#include "attend/core/error.h"

namespace attend {

template <typename T>
Tensor<T> concat(const std::vector<Tensor<T>>& tensors, int64_t axis_in) {
  ATTEND_CHECK(!tensors.empty(), ValueError, "concat: needs at least one tensor");
  const Shape& first = tensors[0].shape();
  const int axis = normalize_axis(axis_in, static_cast<int64_t>(first.size()), "concat");
  Shape out_shape = first;
  out_shape[axis] = 0;
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Shape& s = tensors[i].shape();
    bool same = s.size() == first.size();
    for (size_t a = 0; same && a < s.size(); ++a) same = static_cast<int>(a) == axis || s[a] == first[a];
    ATTEND_CHECK(same, ShapeError, "concat: tensor {} of shape {} does not match tensor 0 of shape {} off axis {}", i,
                 shape_string(s), shape_string(first), axis);
    sizes.push_back(s[axis]);
    out_shape[axis] = checked_add(out_shape[axis], s[axis]);
  }
  Tensor<T> out = Tensor<T>::empty(out_shape);
  int64_t start = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    out.slice(axis, start, start + sizes[i]).copy_from(tensors[i]);
    start += sizes[i];
  }
  if constexpr (std::is_floating_point_v<T>) {
    return record_op<T>("concat", out, tensors, [sizes, axis](const Tensor<T>& g) {
      // forward: out = [t_0, t_1, ...] along axis;  each input gets its slice of the gradient
      std::vector<Tensor<T>> grads;
      int64_t offset = 0;
      for (int64_t size : sizes) {
        grads.push_back(g.slice(axis, offset, offset + size).contiguous());
        offset += size;
      }
      return grads;
    });
  } else {
    return out;
  }
}

template <typename T>
std::vector<Tensor<T>> split(const Tensor<T>& x, const std::vector<int64_t>& sizes, int64_t axis_in) {
  const int axis = normalize_axis(axis_in, x.rank(), "split");
  int64_t total = 0;
  for (int64_t size : sizes) {
    ATTEND_CHECK(size >= 0, ValueError, "split: negative size {}", size);
    total = checked_add(total, size);
  }
  ATTEND_CHECK(total == x.size(axis), ShapeError, "split: sizes sum to {} but axis {} of shape {} has size {}", total,
               axis, shape_string(x.shape()), x.size(axis));
  std::vector<Tensor<T>> pieces;
  int64_t start = 0;
  for (int64_t size : sizes) {
    pieces.push_back(x.slice(axis, start, start + size));
    start += size;
  }
  return pieces;
}

template <typename T>
Tensor<T> stack(const std::vector<Tensor<T>>& tensors, int64_t axis_in) {
  ATTEND_CHECK(!tensors.empty(), ValueError, "stack: needs at least one tensor");
  const int axis = normalize_axis(axis_in, tensors[0].rank() + 1, "stack");
  std::vector<Tensor<T>> expanded;
  for (size_t i = 0; i < tensors.size(); ++i) {
    ATTEND_CHECK(tensors[i].shape() == tensors[0].shape(), ShapeError,
                 "stack: tensor {} of shape {} differs from tensor 0 of shape {}", i, shape_string(tensors[i].shape()),
                 shape_string(tensors[0].shape()));
    expanded.push_back(tensors[i].unsqueeze(axis));
  }
  return concat(expanded, axis);
}

#define ATTEND_INSTANTIATE(T)                                                                    \
  template Tensor<T> concat(const std::vector<Tensor<T>>&, int64_t);                             \
  template std::vector<Tensor<T>> split(const Tensor<T>&, const std::vector<int64_t>&, int64_t); \
  template Tensor<T> stack(const std::vector<Tensor<T>>&, int64_t);
ATTEND_INSTANTIATE(float)
ATTEND_INSTANTIATE(double)
ATTEND_INSTANTIATE(int64_t)
ATTEND_INSTANTIATE(uint8_t)
#undef ATTEND_INSTANTIATE

}  // namespace attend
