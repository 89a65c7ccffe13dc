// The sizes and padding the attention pooling tests run at: the functional forms (tests/attention)
// and the module (tests/nn).
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <vector>

#include "attend/core/tensor.h"

namespace attend::testing {

struct PoolingSizes {
  int64_t batch, length, dim, attention_dim;
};
inline const std::vector<PoolingSizes> kPoolingSizes = {{1, 1, 1, 1}, {2, 5, 3, 4}, {3, 4, 7, 1}, {2, 9, 2, 5}};

inline std::string pooling_sizes_name(const std::string& what, const PoolingSizes& s) {
  return fmt::format("{} B={} N={} D={} A={}", what, s.batch, s.length, s.dim, s.attention_dim);
}

// (B, N): batch b pads its last b elements; the last batch (when B > 1) pads all of them.
inline MaskTensor pooling_padding_mask(int64_t batch, int64_t length) {
  std::vector<uint8_t> padding;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t n = 0; n < length; ++n) padding.push_back((batch > 1 && b == batch - 1) || n >= length - b);
  }
  return MaskTensor::from_vector({batch, length}, padding);
}

}  // namespace attend::testing
