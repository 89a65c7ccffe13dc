#include "attend/sampling/penalties.h"

#include <algorithm>
#include <vector>

#include "attend/core/error.h"

namespace attend::sampling {
namespace {

bool has_penalty(const SamplingOptions& options) {
  return options.penalty_last_n > 0 &&
         (options.repeat_penalty != 1 || options.frequency_penalty != 0 || options.presence_penalty != 0);
}

// The recent window W, sorted so that equal tokens sit together: their run is c(v).
std::vector<int32_t> sorted_window(std::span<const int32_t> history, int64_t last_n, size_t vocabulary_size) {
  const size_t length = std::min(history.size(), static_cast<size_t>(last_n));
  const size_t first = history.size() - length;
  for (size_t i = first; i < history.size(); ++i) {
    ATTEND_CHECK(history[i] >= 0 && static_cast<size_t>(history[i]) < vocabulary_size, ValueError,
                 "apply_penalties: history[{}] = {} is not a token of the vocabulary of {} logits", i, history[i],
                 vocabulary_size);
  }
  std::vector<int32_t> window(history.begin() + static_cast<std::ptrdiff_t>(first), history.end());
  std::sort(window.begin(), window.end());
  return window;
}

// The formula of the header for one token v occurring `count` > 0 times in W.
double penalized(double logit, int64_t count, const SamplingOptions& options) {
  const double repeat = options.repeat_penalty;
  logit = logit > 0 ? logit / repeat : logit * repeat;
  return logit - (static_cast<double>(count) * options.frequency_penalty + options.presence_penalty);
}

}  // namespace

void apply_penalties(std::span<double> logits, std::span<const int32_t> history, const SamplingOptions& options) {
  if (!has_penalty(options)) return;
  const std::vector<int32_t> window = sorted_window(history, options.penalty_last_n, logits.size());
  for (size_t start = 0; start < window.size();) {
    size_t end = start;
    while (end < window.size() && window[end] == window[start]) ++end;
    double& logit = logits[static_cast<size_t>(window[start])];
    logit = penalized(logit, static_cast<int64_t>(end - start), options);
    start = end;
  }
}

}  // namespace attend::sampling
