#include "attend/ops/masking.h"

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "core/strided_loop.h"

namespace attend {
namespace {

// out = mask ? fill : x over x's shape; mask broadcast with stride 0.
template <typename T>
Tensor<T> select_where(const Tensor<T>& x, const MaskTensor& mask, T fill) {
  Tensor<T> out = Tensor<T>::empty(x.shape());
  T* o = out.data();
  const T* in = x.data();
  const uint8_t* m = mask.data();
  detail::for_each_row<3>(
      x.shape(), {out.strides(), x.strides(), detail::broadcast_strides(mask.shape(), mask.strides(), x.shape())},
      [&](const std::array<int64_t, 3>& offsets, const std::array<int64_t, 3>& steps, int64_t count) {
        for (int64_t i = 0; i < count; ++i) {
          o[offsets[0] + i] = m[offsets[2] + i * steps[2]] ? fill : in[offsets[1] + i * steps[1]];
        }
      });
  return out;
}

}  // namespace

template <typename T>
Tensor<T> masked_fill(const Tensor<T>& x, const MaskTensor& mask, std::type_identity_t<T> value) {
  const Shape shape = broadcast_shapes(x.shape(), mask.shape(), "masked_fill");
  ATTEND_CHECK(shape == x.shape(), ShapeError, "masked_fill: mask of shape {} does not broadcast to input {}",
               shape_string(mask.shape()), shape_string(x.shape()));
  Tensor<T> out = select_where(x, mask, value);
  return record_op<T>("masked_fill", out, {x}, [mask](const Tensor<T>& g) {
    // forward: out = mask ? value : x;  d/dx = [not mask]
    return std::vector<Tensor<T>>{select_where(g, mask, T(0))};
  });
}

template Tensor<float> masked_fill(const Tensor<float>&, const MaskTensor&, float);
template Tensor<double> masked_fill(const Tensor<double>&, const MaskTensor&, double);

}  // namespace attend
