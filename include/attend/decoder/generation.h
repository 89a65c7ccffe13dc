// Generating text with a decoder: one causal prefill of the prompt, then one decode step per
// new token, each token chosen by a Sampler (sampling/sampler.h), streamed as complete UTF-8
// pieces (bpe/streaming_decoder.h) with stop strings held back (sampling/stop_matcher.h).
//
//   logits = forward(prompt)                       the cache then holds the prompt
//   repeat max_tokens times:
//     t = sampler.next(logits, history)            history: the prompt and the tokens so far
//     t ends a turn (end of sequence, <|im_end|>, <|endoftext|>): stop, "stop"
//     piece = decode(t); a stop string in the text: emit up to it and stop, "stop"
//     logits = forward(t)                          one decode step on the cache
//   else "length"
//
// The token that ends a turn is not fed to the model (the cache ends before it); a chat feeds
// the template's end of message at the start of the next turn. The prompt is never truncated:
// one longer than the model's context is an error; a generation that reaches the context stops
// there with "length".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "attend/bpe/bpe_tokenizer.h"
#include "attend/decoder/llama_model.h"
#include "attend/sampling/sampling_options.h"

namespace attend::decoder {

struct GenerationOptions {
  sampling::SamplingOptions sampling;
  int64_t max_tokens = 256;         // new tokens at most, >= 1
  std::vector<std::string> stops;   // stop strings (not included in the text)
  bool ignore_end_of_turn = false;  // go on past the end-of-turn tokens (benchmarks: a fixed length)
  int64_t top_logprobs = 0;         // alternatives per token in GeneratedToken::top_logprobs, [0, 20]
};

struct GeneratedToken {
  int32_t id = 0;
  std::string text;    // the whole UTF-8 text this token completes (may be empty)
  double logprob = 0;  // the model's log-probability of it (NaN unless want_logprobs)
  // The top_logprobs most probable tokens of the model's distribution at this step, most
  // probable first (ties: lower id first), with their log-probabilities (OpenAI's top_logprobs).
  std::vector<std::pair<int32_t, double>> top_logprobs;
};

struct GenerationResult {
  std::vector<int32_t> tokens;  // the new tokens (the one that ended the turn excluded)
  std::string text;             // their text, up to a stop string
  std::string finish_reason;    // "stop" or "length"
  int64_t prompt_tokens = 0;
  int64_t tokens_in_cache = 0;  // of `tokens`, how many the cache holds (the last one chosen is not fed)
  double prefill_seconds = 0, decode_seconds = 0;
};

// Called with each token as it is chosen; returning false stops the generation ("stop").
using TokenSink = std::function<bool(const GeneratedToken&)>;

// The ids that end a turn: the end-of-sequence id and the tokens <|im_end|>, <|endoftext|>,
// <|eot_id|> and <|end|> where the vocabulary has them.
std::set<int32_t> end_of_turn_ids(const bpe::BpeTokenizer& tokenizer);

// One sequence's generation, driven by a caller that runs the model: model_input() names the
// tokens to run next on the sequence's cache (the prompt, then each chosen token), the caller
// runs them (alone, or with other sequences in one forward call: run_model_inputs) and hands the
// logits of their last position to accept_logits(); next() then chooses a token. A server
// advances many of these in one batched call per step (continuous batching); TextGenerator is
// the one-sequence loop. The tokens are the same either way: forward() gives a sequence the
// same logits alone or in a batch, and the sampler's draws depend on (seed, step) only.
class SequenceGeneration {
 public:
  // Keeps references to the tokenizer and cache, which must outlive it. Throws as generate().
  SequenceGeneration(const LlamaConfig& config, const bpe::BpeTokenizer& tokenizer, KvCache& cache,
                     std::span<const int32_t> prompt, const GenerationOptions& options);
  ~SequenceGeneration();
  SequenceGeneration(SequenceGeneration&&) noexcept;

  // The tokens to run next on cache(); empty when next() needs no model call (finished, or
  // finishing at its token limit).
  std::span<const int32_t> model_input() const;
  // The logits (V) of the last position of model_input(), which the caller has just run.
  void accept_logits(std::span<const float> logits);
  // The next token and the text it completes, or nullopt once finished, as TextGenerator::next()
  // (ValueError while model_input() is not empty).
  std::optional<GeneratedToken> next();
  void stop();
  bool finished() const;
  const GenerationResult& result() const;
  KvCache& cache();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Runs the model_input() of every sequence that has one in one forward call (their caches
// extended) and hands each its logits. Returns how many tokens ran.
int64_t run_model_inputs(const LlamaModel& model, std::span<SequenceGeneration* const> sequences);

// Generation one token at a time: the constructor prefills the prompt; each next() chooses a
// token, feeds it and returns its text. For callers that drive the loop themselves (an
// iterator, a REPL).
class TextGenerator {
 public:
  // Keeps references to model, tokenizer and cache, which must outlive it. Throws as generate().
  TextGenerator(const LlamaModel& model, const bpe::BpeTokenizer& tokenizer, KvCache& cache,
                std::span<const int32_t> prompt, const GenerationOptions& options);
  ~TextGenerator();
  TextGenerator(TextGenerator&&) noexcept;

  // The next token and the text it completes; nullopt once finished (then result() is whole:
  // the held-back text of a cut-short character or a partial stop string comes as a last token
  // with id -1).
  std::optional<GeneratedToken> next();
  // Ends the generation now ("stop"), as a sink returning false does.
  void stop();
  bool finished() const;
  const GenerationResult& result() const;

 private:
  const LlamaModel* model_;
  SequenceGeneration sequence_;
};

// Generates after `prompt` (token ids), continuing `cache` (which may already hold earlier
// turns). ValueError on an empty prompt, max_tokens < 1, bad sampling options, or a prompt that
// does not fit the context left.
GenerationResult generate(const LlamaModel& model, const bpe::BpeTokenizer& tokenizer, KvCache& cache,
                          std::span<const int32_t> prompt, const GenerationOptions& options,
                          const TokenSink& sink = nullptr);

}  // namespace attend::decoder
