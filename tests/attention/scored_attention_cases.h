// The sizes and mask sets the scored attention tests run at: attention_from_scores
// (tests/attention) and nn::ScoredAttention (tests/nn).
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "attend/attention/scored_attention.h"

namespace attend::testing {

struct ScoredSizes {
  int64_t batch, queries, keys, query_dim, key_dim, value_dim;
};
inline const std::vector<ScoredSizes> kScoredSizes = {
    {1, 1, 1, 1, 1, 1}, {2, 3, 5, 4, 4, 3}, {3, 7, 2, 5, 5, 6}, {2, 4, 4, 3, 3, 1}};

inline std::string scored_sizes_name(const std::string& what, const ScoredSizes& s) {
  return fmt::format("{} B={} N={} M={} Dq={} Dk={} Dv={}", what, s.batch, s.queries, s.keys, s.query_dim, s.key_dim,
                     s.value_dim);
}

// ---- option sets: every mask kind, each with a fully masked row where the sizes allow ----

// (N, M): query i may attend key j when (i + j) % 3 != 1; query 0 may attend nothing.
inline MaskTensor pattern_mask(int64_t queries, int64_t keys) {
  std::vector<uint8_t> allowed;
  for (int64_t i = 0; i < queries; ++i) {
    for (int64_t j = 0; j < keys; ++j) allowed.push_back(i != 0 && (i + j) % 3 != 1);
  }
  return MaskTensor::from_vector({queries, keys}, allowed);
}

// (B, M): batch b pads its last b keys; the last batch (when B > 1) pads every key.
inline MaskTensor key_padding_pattern(int64_t batch, int64_t keys) {
  std::vector<uint8_t> padding;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t j = 0; j < keys; ++j) padding.push_back((batch > 1 && b == batch - 1) || j >= keys - b);
  }
  return MaskTensor::from_vector({batch, keys}, padding);
}

// Named option sets: unmasked, each mask kind alone, and all of them together.
inline std::vector<std::pair<std::string, ScoredAttentionOptions>> option_sets(const ScoredSizes& s,
                                                                               AttentionMode mode) {
  std::vector<std::pair<std::string, ScoredAttentionOptions>> sets;
  sets.push_back({"unmasked", {}});
  sets.push_back({"mask", {.mask = pattern_mask(s.queries, s.keys)}});
  sets.push_back({"key padding", {.key_padding_mask = key_padding_pattern(s.batch, s.keys)}});
  sets.push_back({"causal", {.causal = true}});
  sets.push_back({"all",
                  {.mask = pattern_mask(s.queries, s.keys).unsqueeze(0),
                   .key_padding_mask = key_padding_pattern(s.batch, s.keys),
                   .causal = true}});
  for (auto& [name, options] : sets) options.mode = mode;
  return sets;
}

}  // namespace attend::testing
