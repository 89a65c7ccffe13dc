// The sizes the score function tests run at: the functional forms (tests/attention) and the
// modules that wrap them (tests/nn).
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <vector>

namespace attend::testing {

struct ScoreSizes {
  int64_t batch, queries, keys, query_dim, key_dim, attention_dim;
};
// Sizes of 1 everywhere, odd sizes, and more queries than keys and the reverse.
inline const std::vector<ScoreSizes> kScoreSizes = {
    {1, 1, 1, 1, 1, 1}, {2, 3, 5, 4, 4, 3}, {3, 7, 2, 5, 5, 6}, {1, 4, 9, 3, 3, 1}};
// Query and key widths that differ, for the score functions that allow it.
inline const std::vector<ScoreSizes> kMixedScoreSizes = {{1, 1, 1, 1, 2, 1}, {2, 3, 5, 4, 6, 3}, {3, 7, 2, 5, 2, 7}};

inline std::string score_sizes_name(const char* op, const ScoreSizes& s) {
  return fmt::format("{} B={} N={} M={} Dq={} Dk={} A={}", op, s.batch, s.queries, s.keys, s.query_dim, s.key_dim,
                     s.attention_dim);
}

}  // namespace attend::testing
