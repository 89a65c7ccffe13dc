#include "attend/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attend/core/error.h"
#include "attend/core/random.h"
#include "attend/sampling/penalties.h"

namespace attend::sampling {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A logit is finite or -inf (masked); at least one is finite.
void check_logits(std::span<const float> logits) {
  ATTEND_CHECK(!logits.empty() && logits.size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()), ValueError,
               "sampling: {} logits; a vocabulary has 1 to 2^31 - 1 tokens", logits.size());
  bool any_finite = false;
  for (size_t id = 0; id < logits.size(); ++id) {
    ATTEND_CHECK(!std::isnan(logits[id]), ValueError, "sampling: logits contain NaN at id {}", id);
    ATTEND_CHECK(logits[id] != std::numeric_limits<float>::infinity(), ValueError,
                 "sampling: logits contain +inf at id {}; a masked token is -inf", id);
    any_finite |= std::isfinite(logits[id]);
  }
  ATTEND_CHECK(any_finite, ValueError, "sampling: all {} logits are -inf: no token can be chosen", logits.size());
}

// scores = l' = penalties(l), in float64, once the options and the logits are checked.
void penalize(std::span<const float> logits, std::span<const int32_t> history, const SamplingOptions& options,
              std::vector<double>& scores) {
  options.validate();
  check_logits(logits);
  scores.assign(logits.begin(), logits.end());
  apply_penalties(scores, history, options);
}

// argmax_v l'_v; only a strictly greater logit moves it, so the lowest id wins a tie.
int32_t greedy_token(const std::vector<double>& scores) {
  size_t best = 0;
  for (size_t id = 1; id < scores.size(); ++id) {
    if (scores[id] > scores[best]) best = id;
  }
  return static_cast<int32_t>(best);
}

// C = the filtered candidates of s = l' / temperature, and their weights exp(s - max_C s);
// returns the weights' sum, taken in C's order.
double filter_candidates(const SamplingOptions& options, SamplingScratch& scratch) {
  std::vector<Candidate>& kept = scratch.candidates;
  kept.clear();
  for (size_t id = 0; id < scratch.scores.size(); ++id) {
    const double score = scratch.scores[id];
    if (std::isfinite(score)) kept.push_back({static_cast<int32_t>(id), score / options.temperature});
  }
  const bool top_k_cuts = options.top_k > 0 && static_cast<size_t>(options.top_k) < kept.size();
  if (top_k_cuts) keep_top_k(kept, options.top_k);
  if (options.top_p < 1) keep_top_p(kept, options.top_p, top_k_cuts);
  if (options.min_p > 0) keep_min_p(kept, options.min_p);
  const double max = max_score(kept);
  scratch.weights.clear();
  double total = 0;
  for (const Candidate& candidate : kept) {
    scratch.weights.push_back(std::exp(candidate.score - max));
    total += scratch.weights.back();
  }
  return total;
}

// u_t in [0, 1): the top 53 of the first 64 bits of Philox's block (kSamplingStream, step).
double step_uniform(uint64_t seed, uint64_t step) {
  const std::array<uint32_t, 4> bits = philox_4x32(seed, kSamplingStream, step);
  const uint64_t word = (static_cast<uint64_t>(bits[0]) << 32) | bits[1];
  return static_cast<double>(word >> 11) * 0x1.0p-53;
}

// The first candidate whose cumulative weight exceeds u * total, so P(c_i) = w_i / total. A
// weight that underflowed to 0 never exceeds; should rounding leave u * total at or above the
// whole sum, the last candidate of positive weight is taken.
size_t inverse_cdf(const std::vector<double>& weights, double total, double u) {
  const double target = u * total;
  double cumulative = 0;
  size_t last_positive = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    cumulative += weights[i];
    if (cumulative > target) return i;
    if (weights[i] > 0) last_positive = i;
  }
  return last_positive;
}

// log softmax(l)_id = l_id - max l - log sum_v exp(l_v - max l), in float64.
double model_logprob(std::span<const float> logits, int32_t id) {
  const double max = *std::max_element(logits.begin(), logits.end());
  double total = 0;
  for (const float logit : logits) total += std::exp(static_cast<double>(logit) - max);
  return static_cast<double>(logits[static_cast<size_t>(id)]) - max - std::log(total);
}

}  // namespace

SampledToken sample_token(std::span<const float> logits, std::span<const int32_t> history,
                          const SamplingOptions& options, uint64_t step, SamplingScratch& scratch) {
  penalize(logits, history, options, scratch.scores);
  SampledToken token;
  if (options.temperature == 0) {
    token.id = greedy_token(scratch.scores);
    token.logprob = 0;
  } else {
    const double total = filter_candidates(options, scratch);
    const size_t chosen = inverse_cdf(scratch.weights, total, step_uniform(options.seed, step));
    token.id = scratch.candidates[chosen].id;
    token.logprob = std::log(scratch.weights[chosen] / total);
  }
  token.model_logprob = options.want_logprobs ? model_logprob(logits, token.id) : kNaN;
  if (!options.want_logprobs) token.logprob = kNaN;
  return token;
}

SampledToken sample_token(std::span<const float> logits, std::span<const int32_t> history,
                          const SamplingOptions& options, uint64_t step) {
  SamplingScratch scratch;
  return sample_token(logits, history, options, step, scratch);
}

std::vector<TokenProbability> final_distribution(std::span<const float> logits, std::span<const int32_t> history,
                                                 const SamplingOptions& options) {
  SamplingScratch scratch;
  penalize(logits, history, options, scratch.scores);
  if (options.temperature == 0) return {{greedy_token(scratch.scores), 1.0}};
  const double total = filter_candidates(options, scratch);
  std::vector<TokenProbability> distribution;
  for (size_t i = 0; i < scratch.candidates.size(); ++i) {
    distribution.push_back({scratch.candidates[i].id, scratch.weights[i] / total});
  }
  std::sort(distribution.begin(), distribution.end(),
            [](const TokenProbability& a, const TokenProbability& b) { return a.id < b.id; });
  return distribution;
}

Sampler::Sampler(const SamplingOptions& options) : options_(options) { options_.validate(); }

int32_t Sampler::next(std::span<const float> logits, std::span<const int32_t> history) {
  last_ = sample_token(logits, history, options_, step_, scratch_);
  ++step_;
  return last_.id;
}

}  // namespace attend::sampling
