#include "attend/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attend/core/error.h"
#include "attend/core/random.h"
#include "attend/sampling/penalties.h"
#include "kernels/softmax_float64.h"

namespace attend::sampling {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Names the first NaN or +inf of a refused row of logits (throws).
void refuse_logits(std::span<const float> logits) {
  for (size_t id = 0; id < logits.size(); ++id) {
    ATTEND_CHECK(!std::isnan(logits[id]), ValueError, "sampling: logits contain NaN at id {}", id);
    ATTEND_CHECK(logits[id] != std::numeric_limits<float>::infinity(), ValueError,
                 "sampling: logits contain +inf at id {}; a masked token is -inf", id);
  }
}

// scores = l' = penalties(l), in float64, once the options and the logits are checked: a logit
// is finite or -inf (masked), and at least one is finite.
void penalize(std::span<const float> logits, std::span<const int32_t> history, const SamplingOptions& options,
              std::vector<double>& scores) {
  options.validate();
  ATTEND_CHECK(!logits.empty() && logits.size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()), ValueError,
               "sampling: {} logits; a vocabulary has 1 to 2^31 - 1 tokens", logits.size());
  scores.resize(logits.size());
  bool any_finite = false;
  if (!kernels::widen_logits(logits.data(), static_cast<int64_t>(logits.size()), scores.data(), &any_finite)) {
    refuse_logits(logits);
  }
  ATTEND_CHECK(any_finite, ValueError, "sampling: all {} logits are -inf: no token can be chosen", logits.size());
  apply_penalties(scores, history, options);
}

// argmax_v l'_v, the lowest id on ties.
int32_t greedy_token(const std::vector<double>& scores) {
  const double max = kernels::largest(scores.data(), static_cast<int64_t>(scores.size()));
  return static_cast<int32_t>(std::find(scores.begin(), scores.end(), max) - scores.begin());
}

// The sum of the weights as the sampler takes it, in blocks of kSumBlock consecutive ones:
//   B_b = (((w_8b + w_8b+1) + w_8b+2) + ... + w_8b+7),   C_b = C_b-1 + B_b,   sum = C_last
// The blocks' chains are independent, so a sum over 49,152 weights runs at the adder's
// throughput rather than its latency (one chain of 49,152 additions took ~80 us a step).
constexpr size_t kSumBlock = 8;

double block_sum(const std::vector<double>& weights) {
  double total = 0;
  for (size_t b = 0; b < weights.size(); b += kSumBlock) {
    double block = 0;
    for (size_t i = b; i < std::min(weights.size(), b + kSumBlock); ++i) block += weights[i];
    total += block;
  }
  return total;
}

// w <- exp((w - max w) scale), vectorized (kernels/softmax_float64.h); returns max w.
double exponentiate(std::vector<double>& w, double scale) {
  const auto n = static_cast<int64_t>(w.size());
  const double max = kernels::largest(w.data(), n);
  kernels::exp_scaled_shifted(w.data(), n, max, scale);
  return max;
}

bool has_filter(const SamplingOptions& options) { return options.top_k > 0 || options.top_p < 1 || options.min_p > 0; }

// C and the weights w_c = exp(s_c - max_C s) of s = l' / temperature (kernels/softmax_float64.h,
// the division as a product with 1 / temperature); returns block_sum(w). Without a filter C is
// the whole vocabulary in id order, scratch.candidates stays empty and w is indexed by id (a
// masked token weighs 0, so it is never drawn): no list of 49,152 candidates a step.
double filter_candidates(const SamplingOptions& options, SamplingScratch& scratch) {
  const double inverse_temperature = 1.0 / static_cast<double>(options.temperature);
  const std::vector<double>& scores = scratch.scores;
  std::vector<Candidate>& kept = scratch.candidates;
  std::vector<double>& weights = scratch.weights;
  kept.clear();
  if (!has_filter(options)) {
    weights.assign(scores.begin(), scores.end());
    exponentiate(weights, inverse_temperature);
    return block_sum(weights);
  }
  for (size_t id = 0; id < scores.size(); ++id) {
    if (std::isfinite(scores[id])) kept.push_back({static_cast<int32_t>(id), scores[id] * inverse_temperature});
  }
  const bool top_k_cuts = options.top_k > 0 && static_cast<size_t>(options.top_k) < kept.size();
  if (top_k_cuts) keep_top_k(kept, options.top_k);
  if (options.top_p < 1) keep_top_p(kept, options.top_p, top_k_cuts);
  if (options.min_p > 0) keep_min_p(kept, options.min_p);
  weights.resize(kept.size());
  for (size_t i = 0; i < kept.size(); ++i) weights[i] = kept[i].score;
  exponentiate(weights, 1.0);
  return block_sum(weights);
}

// The token id of C's i-th member.
int32_t candidate_id(const SamplingScratch& scratch, size_t i) {
  return scratch.candidates.empty() ? static_cast<int32_t>(i) : scratch.candidates[i].id;
}

// u_t in [0, 1): the top 53 of the first 64 bits of Philox's block (kSamplingStream, step).
double step_uniform(uint64_t seed, uint64_t step) {
  const std::array<uint32_t, 4> bits = philox_4x32(seed, kSamplingStream, step);
  const uint64_t word = (static_cast<uint64_t>(bits[0]) << 32) | bits[1];
  return static_cast<double>(word >> 11) * 0x1.0p-53;
}

// The first candidate whose cumulative weight exceeds u * total, so P(c_i) = w_i / total. The
// cumulative weight of c_i, i in block b, is C_b-1 + (w_8b + ... + w_i) with block_sum's C: it
// never decreases and reaches the total at the last candidate, so a whole block is skipped
// while C_b <= u * total. A weight that underflowed to 0 never exceeds; should rounding leave
// u * total at or above the whole sum, the last candidate of positive weight is taken.
size_t inverse_cdf(const std::vector<double>& weights, double u, double total) {
  const double target = u * total;
  double before = 0;  // C_b-1
  for (size_t b = 0; b < weights.size(); b += kSumBlock) {
    const size_t end = std::min(weights.size(), b + kSumBlock);
    double block = 0;
    for (size_t i = b; i < end; ++i) block += weights[i];
    if (before + block > target) {
      double partial = 0;
      for (size_t i = b; i < end; ++i) {
        partial += weights[i];
        if (before + partial > target) return i;
      }
    }
    before += block;
  }
  size_t last_positive = weights.size() - 1;
  while (last_positive > 0 && !(weights[last_positive] > 0)) --last_positive;
  return last_positive;
}

// log softmax(l)_id = l_id - max l - log sum_v exp(l_v - max l), in float64 (the sum as
// block_sum takes it); `buffer` is scratch.
double model_logprob(std::span<const float> logits, int32_t id, std::vector<double>& buffer) {
  buffer.assign(logits.begin(), logits.end());
  const double max = exponentiate(buffer, 1.0);
  return static_cast<double>(logits[static_cast<size_t>(id)]) - max - std::log(block_sum(buffer));
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
    const size_t chosen = inverse_cdf(scratch.weights, step_uniform(options.seed, step), total);
    token.id = candidate_id(scratch, chosen);
    token.logprob = std::log(scratch.weights[chosen] / total);
  }
  token.model_logprob = options.want_logprobs ? model_logprob(logits, token.id, scratch.scores) : kNaN;
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
  for (size_t i = 0; i < scratch.weights.size(); ++i) {
    // Without a filter the weights run over every id; the masked ones are not in C.
    if (scratch.candidates.empty() && !std::isfinite(scratch.scores[i])) continue;
    distribution.push_back({candidate_id(scratch, i), scratch.weights[i] / total});
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
