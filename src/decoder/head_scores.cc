#include "attend/decoder/head_scores.h"

#include <algorithm>
#include <cmath>

#include "attend/core/random.h"
#include "attend/decoder/perplexity.h"

namespace attend::decoder {
namespace {

// mean over i in [begin, end) of A[h][i][i - back]; A (H, n, n)
double mean_stripe(const Tensor<float>& attention, int64_t head, int64_t begin, int64_t end, int64_t back) {
  const int64_t n = attention.shape()[1];
  double sum = 0;
  for (int64_t i = begin; i < end; ++i) sum += attention.data()[(head * n + i) * n + (i - back)];
  return sum / static_cast<double>(end - begin);
}

}  // namespace

RepeatedSequence repeated_random_sequence(const LlamaModel& model, int64_t length, uint64_t seed, int32_t first,
                                          int32_t low, int32_t high) {
  const LlamaConfig& config = model.config();
  ATTEND_CHECK(length >= 1 && 2 * length + 1 <= config.context_length, ValueError,
               "repeated sequence: length {} must be in [1, {}]", length, (config.context_length - 1) / 2);
  ATTEND_CHECK(low >= 0 && low < high && high <= config.vocabulary && first >= 0 && first < config.vocabulary,
               ValueError, "repeated sequence: token range [{}, {}) or first token {} outside the vocabulary of {}",
               low, high, first, config.vocabulary);
  Generator generator(seed);
  RepeatedSequence sequence{{first}, length};
  for (int64_t i = 0; i < length; ++i) {
    sequence.tokens.push_back(low + static_cast<int32_t>(generator.uniform_int(static_cast<uint64_t>(high - low))));
  }
  sequence.tokens.insert(sequence.tokens.end(), sequence.tokens.begin() + 1, sequence.tokens.end());
  return sequence;
}

HeadScores head_scores(const LlamaModel& model, const RepeatedSequence& sequence) {
  ForwardHooks hooks;
  hooks.capture_attention = true;
  KvCache cache = model.new_cache(static_cast<int64_t>(sequence.tokens.size()));
  model.forward(sequence.tokens, cache, false, hooks);
  const int64_t length = sequence.length;
  HeadScores scores{model.config().layers, model.config().heads, {}, {}, {}};
  for (const Tensor<float>& attention : hooks.attention) {  // (H, n, n) per layer
    for (int64_t h = 0; h < scores.heads; ++h) {
      scores.previous_token.push_back(mean_stripe(attention, h, 1, 2 * length + 1, 1));
      scores.duplicate_token.push_back(mean_stripe(attention, h, length + 1, 2 * length + 1, length));
      scores.induction.push_back(mean_stripe(attention, h, length + 1, 2 * length + 1, length - 1));
    }
  }
  return scores;
}

InContextLoss in_context_loss(const LlamaModel& model, const RepeatedSequence& sequence,
                              const std::vector<std::vector<int64_t>>& ablated) {
  ForwardHooks hooks;
  hooks.ablated_heads = ablated;
  KvCache cache = model.new_cache(static_cast<int64_t>(sequence.tokens.size()));
  const Tensor<float> logits = model.forward(sequence.tokens, cache, true, hooks);  // (2L + 1, V)
  const int64_t vocabulary = model.config().vocabulary, length = sequence.length;
  // the logits of position t - 1 predict token t
  const auto mean_loss = [&](int64_t begin, int64_t end) {
    double sum = 0;
    for (int64_t t = begin; t < end; ++t) {
      sum += negative_log_likelihood(logits.data() + (t - 1) * vocabulary, vocabulary, sequence.tokens[t]);
    }
    return sum / static_cast<double>(std::max<int64_t>(end - begin, 1));
  };
  return {mean_loss(2, length + 1), mean_loss(length + 2, 2 * length + 1)};
}

}  // namespace attend::decoder
