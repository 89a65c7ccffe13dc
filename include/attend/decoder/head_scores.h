// Which attention heads of a decoder do what, by the definitions TransformerLens uses, measured
// on a repeated random sequence (Olsson et al. 2022, "In-context learning and induction heads"):
//
//   tokens  [first, r_1 ... r_L, r_1 ... r_L]       positions 0, 1..L, L+1..2L; r drawn at random
//   previous-token score of a head  = mean over i in [1, 2L]    of A[i][i - 1]
//   duplicate-token score           = mean over i in [L+1, 2L]  of A[i][i - L]      (the same token before)
//   induction score                 = mean over i in [L+1, 2L]  of A[i][i - L + 1]  (the token that followed it)
//
// A, each head's attention weights on the sequence. An induction head lets the model predict the
// second copy from the first: the in-context loss (mean -log p of the tokens at L+2..2L) falls far
// below the first copy's (2..L). Zeroing the top induction heads' outputs should bring it back up;
// zeroing as many other heads, much less.
#pragma once

#include <cstdint>
#include <vector>

#include "attend/decoder/llama_model.h"

namespace attend::decoder {

struct RepeatedSequence {
  std::vector<int32_t> tokens;  // (2L + 1)
  int64_t length = 0;           // L
};

// r_i drawn uniformly from [low, high) with Philox (seed): the same sequence on every run.
// ValueError unless 1 <= length, 0 <= low < high <= the vocabulary, 2L + 1 <= the context.
RepeatedSequence repeated_random_sequence(const LlamaModel& model, int64_t length, uint64_t seed, int32_t first,
                                          int32_t low, int32_t high);

struct HeadScores {
  int64_t layers = 0, heads = 0;
  std::vector<double> previous_token, duplicate_token, induction;  // (layers, heads) row-major
};

// The three scores of every head, from one forward pass over `sequence`.
HeadScores head_scores(const LlamaModel& model, const RepeatedSequence& sequence);

struct InContextLoss {
  double first_copy = 0;   // mean -log p over positions 2..L (nats)
  double second_copy = 0;  // over L+2..2L
};

// The losses with `ablated` heads (per layer) zeroed.
InContextLoss in_context_loss(const LlamaModel& model, const RepeatedSequence& sequence,
                              const std::vector<std::vector<int64_t>>& ablated = {});

}  // namespace attend::decoder
