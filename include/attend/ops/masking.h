// Masked writes.
#pragma once

#include <type_traits>

#include "attend/core/tensor.h"

namespace attend {

// out = mask ? value : x, with mask broadcast to x's shape (it must not enlarge it).
// Differentiable in x: the gradient is zero where the mask is set.
template <typename T>
Tensor<T> masked_fill(const Tensor<T>& x, const MaskTensor& mask, std::type_identity_t<T> value);

}  // namespace attend
