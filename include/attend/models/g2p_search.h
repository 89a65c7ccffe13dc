// The decoding loops that every G2P model shares, independent of how a model computes the
// distribution of the next phoneme: greedy (batched) and beam search (one word).
//
//   greedy:  y_t = argmax_v p(v | y_<t, x), until </s> or the step limit, for every row at once
//   beam:    keep the beam_size best prefixes by sum_t log p(y_t | y_<t, x); a prefix ending in
//            </s> is finished; stop once beam_size prefixes are finished or at the step limit;
//            return the finished (or unfinished) prefix with the best mean log-probability per
//            emitted symbol, </s> included (length normalization, Wu et al. 2016 with alpha = 1)
//
// A model supplies `next_scores`: tokens (L, 1) holding each row's last symbol (<s> at step 0)
// and the step index -> (L, V) scores of the next symbol, log-probabilities for beam search (any
// monotone scores for greedy). The model keeps its own decoder state (caches, hidden states);
// beam search calls `follow_beams` with parents (L') after each step, so that the model reorders
// that state to row i <- row parents[i] before the next call.
#pragma once

#include <functional>
#include <vector>

#include "attend/core/autograd.h"
#include "attend/core/tensor.h"
#include "attend/nn/module.h"

namespace attend::models {

template <typename T>
using NextScores = std::function<Tensor<T>(const IndexTensor& tokens, int64_t step)>;  // (L, 1) -> (L, V)
using FollowBeams = std::function<void(const IndexTensor& parents)>;                   // (L')

// For the length of a decoding call: no tape, and the model in evaluation mode (no dropout); the
// model's mode is restored afterwards, also when decoding throws.
template <typename T>
class DecodingGuard {
 public:
  explicit DecodingGuard(nn::Module<T>& model) : model_(model), was_training_(model.is_training()) { model.eval(); }
  ~DecodingGuard() { model_.train(was_training_); }
  DecodingGuard(const DecodingGuard&) = delete;
  DecodingGuard& operator=(const DecodingGuard&) = delete;

 private:
  NoGradGuard no_grad_;
  nn::Module<T>& model_;
  bool was_training_;
};

// ShapeError unless source is one word, (1, S): beam search decodes one word at a time.
void check_single_word(const IndexTensor& source);

// The symbols of each of `batch` rows, without markers, at most `max_steps` each.
template <typename T>
std::vector<std::vector<int64_t>> greedy_search(int64_t batch, int64_t max_steps, const NextScores<T>& next_scores);

// The best hypothesis for one word, without markers; <pad>, <s> and <unk> are never emitted.
template <typename T>
std::vector<int64_t> beam_search(int64_t beam_size, int64_t max_steps, const NextScores<T>& next_log_probs,
                                 const FollowBeams& follow_beams);

}  // namespace attend::models
