#include "attend/attention/scored_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/ops/masking.h"
#include "attend/ops/matmul.h"
#include "attend/ops/softmax.h"

namespace attend {
namespace {

// NumPy broadcasting of `from` to exactly `to` (never enlarging `to`).
bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const size_t leading = to.size() - from.size();
  for (size_t axis = 0; axis < from.size(); ++axis) {
    if (from[axis] != 1 && from[axis] != to[leading + axis]) return false;
  }
  return true;
}

bool restricts_positions(const ScoredAttentionOptions& options) {
  return options.mask.defined() || options.key_padding_mask.defined() || options.causal;
}

// scores (B, N, M) and v (B, M, Dv), already validated together with the options.
template <typename T>
ScoredAttentionResult<T> attend_to_values(const Tensor<T>& scores, const Tensor<T>& v,
                                          const ScoredAttentionOptions& options) {
  const bool hard = options.mode == AttentionMode::kHard;
  // Hard weights are constant in the scores: leave them off the tape.
  Tensor<T> masked = hard ? scores.detach() : scores;  // (B, N, M)
  if (restricts_positions(options)) {
    const MaskTensor blocked = blocked_positions(scores.size(0), scores.size(1), scores.size(2), options);
    masked = masked_fill(masked, blocked, -std::numeric_limits<T>::infinity());
  }
  // softmax gives a fully masked (all -inf) row zeros with zero gradient; so does the argmax.
  const Tensor<T> weights = hard ? hard_attention_weights(masked) : softmax(masked, -1);  // (B, N, M)
  return {matmul(weights, v), weights};                                                   // (B, N, M) @ (B, M, Dv)
}

}  // namespace

void check_scored_attention_masks(const char* op, int64_t batch, int64_t queries, int64_t keys,
                                  const ScoredAttentionOptions& options) {
  const Shape scores_shape{batch, queries, keys};
  ATTEND_CHECK(!options.mask.defined() || broadcasts_to(options.mask.shape(), scores_shape), ShapeError,
               "{}: mask {} does not broadcast to the scores (B, N, M) = {}", op, shape_string(options.mask.shape()),
               shape_string(scores_shape));
  ATTEND_CHECK(!options.key_padding_mask.defined() || options.key_padding_mask.shape() == Shape({batch, keys}),
               ShapeError, "{}: key_padding_mask {} must be (B, M) = ({}, {}) for the scores {}", op,
               shape_string(options.key_padding_mask.shape()), batch, keys, shape_string(scores_shape));
}

MaskTensor blocked_positions(int64_t batch, int64_t queries, int64_t keys, const ScoredAttentionOptions& options) {
  ATTEND_CHECK(batch >= 0 && queries >= 0 && keys >= 0, ValueError,
               "blocked_positions: sizes must be non-negative, got B={} N={} M={}", batch, queries, keys);
  check_scored_attention_masks("blocked_positions", batch, queries, keys, options);
  MaskTensor blocked = MaskTensor::zeros({batch, queries, keys});  // (B, N, M)
  uint8_t* out = blocked.data();
  if (options.mask.defined()) {
    const std::vector<uint8_t> allowed = options.mask.expand({batch, queries, keys}).to_vector();
    for (size_t index = 0; index < allowed.size(); ++index) out[index] |= allowed[index] == 0;
  }
  if (options.key_padding_mask.defined()) {
    const std::vector<uint8_t> padding = options.key_padding_mask.to_vector();  // (B, M)
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t i = 0; i < queries; ++i) {
        for (int64_t j = 0; j < keys; ++j) out[(b * queries + i) * keys + j] |= padding[b * keys + j] != 0;
      }
    }
  }
  if (options.causal) {
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t i = 0; i < queries; ++i) {
        for (int64_t j = i + 1; j < keys; ++j) out[(b * queries + i) * keys + j] = 1;
      }
    }
  }
  return blocked;
}

// w[r, j] = [j = argmax_j' s[r, j']], the first maximum; all zeros when every s[r, j] = -inf;
// all NaN when some s[r, j] is NaN (as softmax does). Xu et al. 2015, deterministic hard attention.
template <typename T>
Tensor<T> hard_attention_weights(const Tensor<T>& masked_scores) {
  ATTEND_CHECK(masked_scores.rank() >= 1, ShapeError, "hard_attention_weights: scores {} need rank >= 1",
               shape_string(masked_scores.shape()));
  const Tensor<T> scores = masked_scores.detach().contiguous();  // (..., M)
  Tensor<T> weights = Tensor<T>::zeros(scores.shape());          // (..., M)
  const int64_t keys = scores.size(-1);
  const int64_t rows = keys == 0 ? 0 : scores.numel() / keys;
  const T* s = scores.data();
  T* w = weights.data();
  parallel_for(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(keys, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* row = s + r * keys;
      T* out = w + r * keys;
      int64_t best = -1;
      T best_score = -std::numeric_limits<T>::infinity();
      bool has_nan = false;
      for (int64_t j = 0; j < keys; ++j) {
        if (std::isnan(row[j])) has_nan = true;
        if (row[j] > best_score) {  // strict: ties keep the lowest index; -inf is never picked
          best = j;
          best_score = row[j];
        }
      }
      if (has_nan) {
        std::fill_n(out, keys, std::numeric_limits<T>::quiet_NaN());
      } else if (best >= 0) {
        out[best] = T(1);
      }
    }
  });
  return weights;
}

template <typename T>
ScoredAttentionResult<T> attention_from_scores(const Tensor<T>& scores, const Tensor<T>& v,
                                               const ScoredAttentionOptions& options) {
  ATTEND_CHECK(scores.rank() == 3 && v.rank() == 3, ShapeError,
               "attention_from_scores: scores {} and v {} must have rank 3, (B, N, M) and (B, M, Dv)",
               shape_string(scores.shape()), shape_string(v.shape()));
  ATTEND_CHECK(v.size(0) == scores.size(0) && v.size(1) == scores.size(2), ShapeError,
               "attention_from_scores: v {} must be (B, M, Dv) with (B, M) = ({}, {}) for the scores {}",
               shape_string(v.shape()), scores.size(0), scores.size(2), shape_string(scores.shape()));
  check_scored_attention_masks("attention_from_scores", scores.size(0), scores.size(1), scores.size(2), options);
  return attend_to_values(scores, v, options);
}

template ScoredAttentionResult<float> attention_from_scores(const Tensor<float>&, const Tensor<float>&,
                                                            const ScoredAttentionOptions&);
template ScoredAttentionResult<double> attention_from_scores(const Tensor<double>&, const Tensor<double>&,
                                                             const ScoredAttentionOptions&);
template Tensor<float> hard_attention_weights(const Tensor<float>&);
template Tensor<double> hard_attention_weights(const Tensor<double>&);

}  // namespace attend
