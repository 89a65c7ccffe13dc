// The perplexity of a text under a decoder, with a sliding window of fixed length, as Hugging
// Face's "Perplexity of fixed-length models" guide computes it:
//
//   windows [b, min(b + context, T)) for b = 0, stride, 2 stride, ... until one reaches T
//   window w scores the positions t in [max(end of window w - 1, b + 1), end): the ones no
//   earlier window scored (the first token of the text is never scored), each given the
//   window's tokens before it
//   perplexity = exp( sum over scored t of -log p(x_t | window before t) / (number scored) )
//
// Each window runs on a fresh cache (the model sees no token before b). With stride = context
// the windows do not overlap; a smaller stride gives every scored token more context.
#pragma once

#include <cstdint>
#include <span>

#include "attend/decoder/llama_model.h"

namespace attend::decoder {

struct PerplexityOptions {
  int64_t context = 512;  // tokens a window holds, in [2, the model's context]
  int64_t stride = 256;   // tokens between window starts, in [1, context]
};

struct PerplexityResult {
  double perplexity = 0;
  double mean_negative_log_likelihood = 0;  // nats a scored token
  int64_t scored_tokens = 0;
  int64_t windows = 0;
};

// -log softmax(logits)_target over `vocabulary` logits, the sum of exponentials in double.
double negative_log_likelihood(const float* logits, int64_t vocabulary, int32_t target);

// ValueError on fewer than 2 tokens or options outside their ranges.
PerplexityResult perplexity(const LlamaModel& model, std::span<const int32_t> tokens, const PerplexityOptions& options);

}  // namespace attend::decoder
