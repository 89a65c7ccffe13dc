// The knobs of next-token sampling, with the defaults and meanings of Hugging Face's generate()
// (temperature, top_k, top_p, min_p, repetition_penalty) and llama.cpp / OpenAI (frequency and
// presence penalties over the last penalty_last_n tokens). The order in which they act is
// sampler.h's.
#pragma once

#include <cstdint>

namespace attend::sampling {

struct SamplingOptions {
  // Logits are divided by it; 0 means greedy (arg-max, lowest id on ties, no randomness).
  float temperature = 1.0f;
  // Keep the top_k most probable tokens; 0 = off.
  int64_t top_k = 0;
  // Keep the smallest set of most probable tokens whose probability sums to >= top_p; 1 = off.
  float top_p = 1.0f;
  // Keep the tokens with p >= min_p * p_max; 0 = off.
  float min_p = 0.0f;
  // CTRL's repetition penalty r: a recent token's logit l becomes l > 0 ? l / r : l * r; 1 = off.
  float repeat_penalty = 1.0f;
  // OpenAI's penalties: l -= count * frequency_penalty + (count > 0) * presence_penalty.
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  // How many of the latest history tokens the three penalties look at; 0 = none.
  int64_t penalty_last_n = 64;
  // Key of the Philox stream: the draw of step t depends on (seed, t) only. Fixed by default, so
  // that a run repeats unless the caller picks another seed.
  uint64_t seed = 0;
  // Whether Sampler::last() carries log-probabilities (NaN otherwise).
  bool want_logprobs = false;

  // Throws ValueError naming the first option out of its domain and its value.
  void validate() const;
};

}  // namespace attend::sampling
