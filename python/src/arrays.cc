#include "arrays.h"

#include <memory>
#include <vector>

#include "attend/core/error.h"

namespace attend::python {
namespace {

// Keeps the array (and so the Python object it came from) alive from C++; released with the GIL
// held, since a tensor may die on a thread that does not hold it.
template <typename T>
std::shared_ptr<const void> keep_alive(const InputArray<T>& array) {
  return std::shared_ptr<const void>(new InputArray<T>(array), [](const void* pointer) {
    nb::gil_scoped_acquire gil;
    delete static_cast<const InputArray<T>*>(pointer);
  });
}

Shape shape_of(const nb::ndarray<nb::device::cpu>& array) {
  Shape shape;
  for (size_t axis = 0; axis < array.ndim(); ++axis) shape.push_back(static_cast<int64_t>(array.shape(axis)));
  return shape;
}

bool c_contiguous(const nb::ndarray<nb::device::cpu>& array) {
  int64_t expected = 1;
  for (size_t axis = array.ndim(); axis-- > 0;) {
    if (array.shape(axis) != 1 && array.stride(axis) != expected) return false;
    expected *= static_cast<int64_t>(array.shape(axis));
  }
  return true;
}

// Copies an array of any strides (in elements) into a contiguous tensor, row-major, each value
// through `convert`.
template <typename T, typename Source, typename Convert>
void copy_strided(const Source* source, const nb::ndarray<nb::device::cpu>& array, T* destination, Convert convert) {
  const size_t rank = array.ndim();
  const int64_t count = static_cast<int64_t>(array.size());
  std::vector<int64_t> index(rank, 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t offset = 0;
    for (size_t axis = 0; axis < rank; ++axis) offset += index[axis] * array.stride(axis);
    destination[i] = convert(source[offset]);
    for (size_t axis = rank; axis-- > 0;) {
      if (++index[axis] < static_cast<int64_t>(array.shape(axis))) break;
      index[axis] = 0;
    }
  }
}

}  // namespace

template <typename T>
Tensor<T> to_tensor(const InputArray<T>& array) {
  const nb::ndarray<nb::device::cpu> any(array);
  const Shape shape = shape_of(any);
  const T* data = array.data();
  if (c_contiguous(any) && reinterpret_cast<uintptr_t>(data) % alignof(T) == 0 && array.size() > 0) {
    return Tensor<T>::borrow(const_cast<T*>(data), shape, keep_alive(array));
  }
  Tensor<T> tensor = Tensor<T>::empty(shape);
  copy_strided(data, any, tensor.data(), [](T value) { return value; });
  return tensor;
}

MaskTensor to_mask(const std::optional<AnyArray>& array, const std::string& name) {
  if (!array) return MaskTensor();
  const Shape shape = shape_of(*array);
  MaskTensor mask = MaskTensor::empty(shape);
  const nb::dlpack::dtype dtype = array->dtype();
  const void* data = array->data();
  const auto is_true = [](auto value) -> uint8_t { return value != 0; };  // any nonzero integer
  if (dtype == nb::dtype<bool>() || dtype == nb::dtype<uint8_t>() || dtype == nb::dtype<int8_t>()) {
    copy_strided(static_cast<const uint8_t*>(data), *array, mask.data(), is_true);
  } else if (dtype == nb::dtype<int32_t>()) {
    copy_strided(static_cast<const int32_t*>(data), *array, mask.data(), is_true);
  } else if (dtype == nb::dtype<int64_t>()) {
    copy_strided(static_cast<const int64_t*>(data), *array, mask.data(), is_true);
  } else {
    fail("{} must be a bool or integer array (nonzero: true), not a {}-bit array of DLPack type code {}", name,
         dtype.bits, dtype.code);
  }
  return mask;
}

template <typename T>
OutputArray<T> to_numpy(const Tensor<T>& tensor) {
  auto* owned = new Tensor<T>(tensor.is_contiguous() ? tensor : tensor.contiguous());
  nb::capsule owner(owned, [](void* pointer) noexcept { delete static_cast<Tensor<T>*>(pointer); });
  std::vector<size_t> shape(owned->shape().begin(), owned->shape().end());
  return OutputArray<T>(owned->data(), shape.size(), shape.data(), owner);
}

template Tensor<float> to_tensor(const InputArray<float>&);
template Tensor<double> to_tensor(const InputArray<double>&);
template Tensor<int64_t> to_tensor(const InputArray<int64_t>&);
template Tensor<uint8_t> to_tensor(const InputArray<uint8_t>&);
template OutputArray<float> to_numpy(const Tensor<float>&);
template OutputArray<double> to_numpy(const Tensor<double>&);
template OutputArray<int64_t> to_numpy(const Tensor<int64_t>&);
template OutputArray<uint8_t> to_numpy(const Tensor<uint8_t>&);

}  // namespace attend::python
