// NumPy (or any DLPack) arrays in and out of attend tensors.
//
// In: a C-contiguous array (aligned to its elements, as NumPy's are) is borrowed, not copied (the
// tensor keeps the array alive); any other layout is copied once into attend's storage. Out: the
// tensor's storage becomes the NumPy array's (no copy; the array keeps the tensor alive).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include "attend/core/tensor.h"

namespace attend::python {

namespace nb = nanobind;

template <typename T>
using InputArray = nb::ndarray<const T, nb::device::cpu>;
template <typename T>
using OutputArray = nb::ndarray<nb::numpy, T>;
using AnyArray = nb::ndarray<nb::device::cpu>;  // any dtype: masks (bool or integers)

// The array as a tensor (borrowed when aligned and C-contiguous, else copied).
template <typename T>
Tensor<T> to_tensor(const InputArray<T>& array);

// An optional array as a tensor; an undefined tensor for None.
template <typename T>
Tensor<T> to_tensor(const std::optional<InputArray<T>>& array) {
  return array ? to_tensor(*array) : Tensor<T>();
}

// A boolean mask (bool or integer dtype; nonzero is true) as attend's MaskTensor (copied).
// `name` goes into the error for any other dtype.
MaskTensor to_mask(const std::optional<AnyArray>& array, const std::string& name);

// The tensor as a NumPy array that owns it (a view is made contiguous first).
template <typename T>
OutputArray<T> to_numpy(const Tensor<T>& tensor);

}  // namespace attend::python
