// Choosing the next token of a language model from its logits, one sampler per sequence.
//
// One step t, in the order of Hugging Face's generate() (logits processors, then the warpers
// temperature, top-k, top-p, min-p):
//
//   l   = the model's logits (V,); NaN and +inf are refused, -inf is a masked token
//   l'  = penalties(l, history)                                 penalties.h
//   greedy (temperature 0): the token is argmax_v l'_v, the lowest id on ties; nothing is drawn
//   s   = l' / temperature
//   C   = {v : l_v > -inf};  C = top_k(C);  C = top_p(C);  C = min_p(C)   candidate_filters.h
//   p_v = exp(s_v - max_C s) / sum_{w in C} exp(s_w - max_C s)      for v in C, 0 elsewhere
//   u_t = 53 bits of Philox4x32-10(key = seed, counter = (kSamplingStream, t)) / 2^53, in [0, 1)
//   the token is the first v of C (in C's order) with p_{c_1} + ... + p_v > u_t
//
// Why this order and not llama.cpp's default chain (penalties; dry; top_n_sigma; top_k; typ_p;
// top_p; min_p; xtc; temperature): there temperature comes last, so top-p and min-p judge the
// temperature-1 distribution and not the one drawn from. Here top_p = 0.9 keeps 90% of the mass
// of the distribution actually sampled, and min-p acts after temperature as its paper intends.
// The penalties come first in both, with llama.cpp's formulas (Hugging Face has only the
// repetition one) over the last penalty_last_n tokens.
//
// Randomness: u_t depends on (seed, t) and nothing else, so a sequence gets the same tokens
// whatever the thread count and whichever other sequences share its batch. The weights
// exp(s_v - max) are float64 (a vectorized exp within 1 ulp), summed in an order fixed by the
// input (C's order: ids, or rank after top-k / top-p; in blocks of 8 consecutive weights, the
// blocks' sums then added in order), so the same logits give the same token on every run.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "attend/sampling/candidate_filters.h"
#include "attend/sampling/sampling_options.h"

namespace attend::sampling {

// Philox's high counter word for sampling: the draws of Generator(seed) (core/random.h) use 0,
// so dropout and sampling seeded alike still get unrelated numbers.
inline constexpr uint64_t kSamplingStream = 0x73616d706c696e67;  // "sampling"

struct SampledToken {
  int32_t id = -1;
  // log p_id under the distribution drawn from (after penalties, temperature and the filters,
  // renormalized); 0 for greedy, whose distribution is all on the arg-max.
  double logprob = 0;
  // log softmax(l)_id of the raw logits: the model's own log-probability, as OpenAI's logprobs.
  double model_logprob = 0;
};

struct TokenProbability {
  int32_t id = 0;
  double probability = 0;
};

// Buffers reused from step to step: over a vocabulary of 49,152 a step would otherwise allocate
// (and fault in) about a megabyte. Their contents mean nothing between calls.
struct SamplingScratch {
  std::vector<double> scores;         // (V,) the penalized logits l'
  std::vector<Candidate> candidates;  // C when a filter is on; empty when C is every id
  std::vector<double> weights;        // exp(s_v - max_C s) for v in C, in C's order (or by id)
};

// The token of step `step`: a pure function of its arguments (scratch only holds buffers).
// logits: (V,); history: the sequence so far (prompt and generated tokens), of which the
// penalties read the last penalty_last_n. Throws ValueError on bad options, logits with NaN or +inf or only -inf, and a
// penalized history token outside [0, V). logprob and model_logprob are NaN unless
// options.want_logprobs.
SampledToken sample_token(std::span<const float> logits, std::span<const int32_t> history,
                          const SamplingOptions& options, uint64_t step, SamplingScratch& scratch);
SampledToken sample_token(std::span<const float> logits, std::span<const int32_t> history,
                          const SamplingOptions& options, uint64_t step);

// The distribution sample_token draws from: the tokens of C with their p, by id (greedy: the
// arg-max with probability 1). For tests and for showing a user what the filters kept.
std::vector<TokenProbability> final_distribution(std::span<const float> logits, std::span<const int32_t> history,
                                                 const SamplingOptions& options);

// sample_token with a step counter: the t-th call of next() draws step t.
class Sampler {
 public:
  // Throws ValueError on bad options (SamplingOptions::validate).
  explicit Sampler(const SamplingOptions& options);

  // The next token for these logits, (V,), and the sequence so far.
  int32_t next(std::span<const float> logits, std::span<const int32_t> history);

  // The token of the latest next() with its log-probabilities.
  const SampledToken& last() const { return last_; }
  // The step the next call of next() draws: how many tokens this sampler has chosen.
  uint64_t step() const { return step_; }
  // Resumes (or replays) a sequence at `step`.
  void set_step(uint64_t step) { step_ = step; }
  const SamplingOptions& options() const { return options_; }

 private:
  SamplingOptions options_;
  uint64_t step_ = 0;
  SampledToken last_;
  SamplingScratch scratch_;
};

}  // namespace attend::sampling
