// Dropout (Srivastava et al. 2014), inverted: kept elements are scaled by 1 / (1 - p) so that the
// expectation is unchanged and evaluation needs no rescaling.
//
// Element i (row-major) is kept when uniform(philox(seed, i)) >= p: the mask depends only on the
// seed and the element's position, never on the thread count or on earlier draws.
#pragma once

#include <cstdint>

#include "attend/core/tensor.h"

namespace attend {

// p in [0, 1). With training false, or p == 0, returns x unchanged.
template <typename T>
Tensor<T> dropout(const Tensor<T>& x, double p, uint64_t seed, bool training = true);

// The keep mask dropout uses for `numel` elements: 1 where kept, 0 where dropped.
std::vector<uint8_t> dropout_keep_mask(int64_t numel, double p, uint64_t seed);

}  // namespace attend
