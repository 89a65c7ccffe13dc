// Penalties on recently generated tokens, applied to the raw logits (before temperature), as
// llama.cpp's penalties sampler applies them:
//
//   W    = the last penalty_last_n tokens of the history (all of it when shorter)
//   c(v) = how often token v occurs in W
//   for every distinct v in W:
//     l_v = l_v > 0 ? l_v / repeat_penalty : l_v * repeat_penalty   (CTRL, Keskar et al. 2019;
//                                                                      HF's repetition_penalty)
//     l_v = l_v - (c(v) * frequency_penalty + presence_penalty)      (OpenAI's penalties)
//
// Every other logit is left bit for bit as it was; -inf (a masked token) stays -inf.
#pragma once

#include <cstdint>
#include <span>

#include "attend/sampling/sampling_options.h"

namespace attend::sampling {

// logits: (V,), changed in place. Throws ValueError for a token of W outside [0, V).
void apply_penalties(std::span<double> logits, std::span<const int32_t> history, const SamplingOptions& options);

}  // namespace attend::sampling
