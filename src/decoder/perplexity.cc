#include "attend/decoder/perplexity.h"

#include <algorithm>
#include <cmath>

namespace attend::decoder {
// -log softmax(logits)_target = log sum_v exp(l_v - m) + m - l_target
double negative_log_likelihood(const float* logits, int64_t vocabulary, int32_t target) {
  const float max = *std::max_element(logits, logits + vocabulary);
  double sum = 0;
  for (int64_t v = 0; v < vocabulary; ++v) sum += std::exp(static_cast<double>(logits[v]) - max);
  return std::log(sum) + max - logits[target];
}

PerplexityResult perplexity(const LlamaModel& model, std::span<const int32_t> tokens,
                            const PerplexityOptions& options) {
  const auto total = static_cast<int64_t>(tokens.size());
  ATTEND_CHECK(total >= 2, ValueError, "perplexity: the text has {} tokens; at least 2 are needed", total);
  ATTEND_CHECK(options.context >= 2 && options.context <= model.config().context_length, ValueError,
               "perplexity: the context must be in [2, {}], got {}", model.config().context_length, options.context);
  ATTEND_CHECK(options.stride >= 1 && options.stride <= options.context, ValueError,
               "perplexity: the stride must be in [1, context = {}], got {}", options.context, options.stride);
  const int64_t vocabulary = model.config().vocabulary;
  PerplexityResult result;
  double total_nll = 0;
  int64_t scored_until = 1;  // positions before it are scored (position 0 never is)
  for (int64_t begin = 0;; begin += options.stride) {
    const int64_t end = std::min(begin + options.context, total);
    KvCache cache = model.new_cache(end - begin);
    const Tensor<float> logits = model.forward(tokens.subspan(begin, end - begin), cache, true);  // (end - begin, V)
    for (int64_t t = std::max(scored_until, begin + 1); t < end; ++t) {
      // the logits of position t - 1 predict token t
      total_nll += negative_log_likelihood(logits.data() + (t - 1 - begin) * vocabulary, vocabulary, tokens[t]);
      ++result.scored_tokens;
    }
    scored_until = end;
    ++result.windows;
    if (end == total) break;
  }
  result.mean_negative_log_likelihood = total_nll / static_cast<double>(result.scored_tokens);
  result.perplexity = std::exp(result.mean_negative_log_likelihood);
  return result;
}

}  // namespace attend::decoder
