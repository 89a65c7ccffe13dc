// Differentiable views and copies: Tensor's reshape, permute, slice, expand, (un)squeeze, clone.
// A view shares the buffer of its input; its backward maps the gradient back to the input's
// geometry, with core's own means: another view, a copy into zeros, or (expand) a sum over the
// broadcast axes.
#include <numeric>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/tensor.h"
#include "core/sum_over_axes.h"

namespace attend {

template <typename T>
Tensor<T> Tensor<T>::clone() const {
  Tensor out = empty(shape());
  out.copy_from(*this);
  if constexpr (std::is_floating_point_v<T>) {
    return record_op<T>("clone", out, {*this}, [](const Tensor<T>& g) { return std::vector<Tensor<T>>{g}; });
  } else {
    return out;
  }
}

template <typename T>
Tensor<T> Tensor<T>::contiguous() const {
  return is_contiguous() ? *this : clone();
}

// Records a view op for floating tensors; integer tensors have no autograd.
template <typename T, typename Backward>
Tensor<T> record_view(const char* name, const Tensor<T>& out, const Tensor<T>& input, Backward backward) {
  if constexpr (std::is_floating_point_v<T>) {
    return record_op<T>(name, out, {input},
                        [backward](const Tensor<T>& g) { return std::vector<Tensor<T>>{backward(g)}; });
  } else {
    return out;
  }
}

template <typename T>
Tensor<T> Tensor<T>::reshape(const Shape& requested) const {
  Shape target = requested;
  int64_t known = 1;
  int inferred = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1) {
      ATTEND_CHECK(inferred < 0, ShapeError, "reshape: more than one -1 in {}", shape_string(requested));
      inferred = static_cast<int>(i);
      continue;
    }
    ATTEND_CHECK(target[i] >= 0, ShapeError, "reshape: negative size in {}", shape_string(requested));
    known = checked_mul(known, target[i]);
  }
  if (inferred >= 0) {
    ATTEND_CHECK(known != 0 && numel() % known == 0, ShapeError, "reshape: cannot reshape {} ({} elements) into {}",
                 shape_string(shape()), numel(), shape_string(requested));
    target[inferred] = numel() / known;
    known *= target[inferred];
  }
  ATTEND_CHECK(known == numel(), ShapeError, "reshape: cannot reshape {} ({} elements) into {} ({} elements)",
               shape_string(shape()), numel(), shape_string(requested), known);
  if (target == shape()) return *this;
  const Tensor source = contiguous();
  const Tensor out = source.as_strided(target, contiguous_strides(target), source.offset());
  return record_view("reshape", out, source,
                     [input_shape = shape()](const Tensor<T>& g) { return g.reshape(input_shape); });
}

template <typename T>
Tensor<T> Tensor<T>::permute(const std::vector<int64_t>& axes) const {
  ATTEND_CHECK(static_cast<int64_t>(axes.size()) == rank(), ValueError,
               "permute: {} axes given for a tensor of shape {}", axes.size(), shape_string(shape()));
  std::vector<int64_t> inverse(axes.size(), -1);
  Shape out_shape(axes.size());
  Strides out_strides(axes.size());
  for (size_t i = 0; i < axes.size(); ++i) {
    const int a = normalize_axis(axes[i], rank(), "permute");
    ATTEND_CHECK(inverse[a] < 0, ValueError, "permute: axis {} appears twice in the permutation", axes[i]);
    inverse[a] = static_cast<int64_t>(i);
    out_shape[i] = shape()[a];
    out_strides[i] = strides()[a];
  }
  const Tensor out = as_strided(out_shape, out_strides, offset());
  return record_view("permute", out, *this, [inverse](const Tensor<T>& g) { return g.permute(inverse); });
}

template <typename T>
Tensor<T> Tensor<T>::transpose(int64_t axis_a, int64_t axis_b) const {
  std::vector<int64_t> axes(rank());
  std::iota(axes.begin(), axes.end(), 0);
  std::swap(axes[normalize_axis(axis_a, rank(), "transpose")], axes[normalize_axis(axis_b, rank(), "transpose")]);
  return permute(axes);
}

template <typename T>
Tensor<T> Tensor<T>::slice(int64_t axis, int64_t start, int64_t end, int64_t step) const {
  const int a = normalize_axis(axis, rank(), "slice");
  ATTEND_CHECK(step >= 1, ValueError, "slice: step must be at least 1, got {}", step);
  const int64_t n = shape()[a];
  auto clamp = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  const int64_t first = clamp(start);
  const int64_t last = std::max(first, clamp(end));
  Shape out_shape = shape();
  Strides out_strides = strides();
  out_shape[a] = (last - first + step - 1) / step;
  out_strides[a] = strides()[a] * step;
  const Tensor out = as_strided(out_shape, out_strides, offset() + first * strides()[a]);
  return record_view("slice", out, *this, [input_shape = shape(), a, first, last, step](const Tensor<T>& g) {
    // forward: out = x[first:last:step] along axis a;  the other elements get zero
    Tensor<T> grad = Tensor<T>::zeros(input_shape);
    Tensor<T> window = grad.slice(a, first, last, step);
    window.copy_from(g);
    return grad;
  });
}

template <typename T>
Tensor<T> Tensor<T>::expand(const Shape& target) const {
  ATTEND_CHECK(target.size() >= shape().size(), ShapeError, "expand: cannot expand {} to fewer axes {}",
               shape_string(shape()), shape_string(target));
  const size_t lead = target.size() - shape().size();
  Strides out_strides(target.size(), 0);
  for (size_t i = 0; i < shape().size(); ++i) {
    ATTEND_CHECK(shape()[i] == target[lead + i] || shape()[i] == 1, ShapeError, "expand: cannot expand {} to {}",
                 shape_string(shape()), shape_string(target));
    out_strides[lead + i] = shape()[i] == 1 && target[lead + i] != 1 ? 0 : strides()[i];
  }
  if (target == shape()) return *this;
  const Tensor out = as_strided(target, out_strides, offset());
  return record_view("expand", out, *this, [input_shape = shape()](const Tensor<T>& g) {
    // forward: out[..., i, ...] = x[..., 0, ...] along every broadcast axis;  the copies' gradients add up
    const std::vector<int64_t> axes = detail::broadcast_axes(input_shape, g.shape(), "expand");
    return detail::sum_over_axes(g, detail::plan_reduction(g.shape(), axes, "expand"), true).reshape(input_shape);
  });
}

template <typename T>
Tensor<T> Tensor<T>::unsqueeze(int64_t axis) const {
  const int a = normalize_axis(axis, rank() + 1, "unsqueeze");
  Shape out_shape = shape();
  Strides out_strides = strides();
  const int64_t stride = a < rank() ? strides()[a] * shape()[a] : 1;
  out_shape.insert(out_shape.begin() + a, 1);
  out_strides.insert(out_strides.begin() + a, stride);
  const Tensor out = as_strided(out_shape, out_strides, offset());
  return record_view("unsqueeze", out, *this,
                     [input_shape = shape()](const Tensor<T>& g) { return g.reshape(input_shape); });
}

template <typename T>
Tensor<T> Tensor<T>::squeeze(int64_t axis) const {
  const int a = normalize_axis(axis, rank(), "squeeze");
  ATTEND_CHECK(shape()[a] == 1, ShapeError, "squeeze: axis {} of shape {} has size {}, not 1", axis,
               shape_string(shape()), shape()[a]);
  Shape out_shape = shape();
  Strides out_strides = strides();
  out_shape.erase(out_shape.begin() + a);
  out_strides.erase(out_strides.begin() + a);
  const Tensor out = as_strided(out_shape, out_strides, offset());
  return record_view("squeeze", out, *this,
                     [input_shape = shape()](const Tensor<T>& g) { return g.reshape(input_shape); });
}

#define ATTEND_INSTANTIATE(T)                                                    \
  template Tensor<T> Tensor<T>::clone() const;                                   \
  template Tensor<T> Tensor<T>::contiguous() const;                              \
  template Tensor<T> Tensor<T>::reshape(const Shape&) const;                     \
  template Tensor<T> Tensor<T>::permute(const std::vector<int64_t>&) const;      \
  template Tensor<T> Tensor<T>::transpose(int64_t, int64_t) const;               \
  template Tensor<T> Tensor<T>::slice(int64_t, int64_t, int64_t, int64_t) const; \
  template Tensor<T> Tensor<T>::expand(const Shape&) const;                      \
  template Tensor<T> Tensor<T>::unsqueeze(int64_t) const;                        \
  template Tensor<T> Tensor<T>::squeeze(int64_t) const;
ATTEND_INSTANTIATE(float)
ATTEND_INSTANTIATE(double)
ATTEND_INSTANTIATE(int64_t)
ATTEND_INSTANTIATE(uint8_t)
#undef ATTEND_INSTANTIATE

}  // namespace attend
