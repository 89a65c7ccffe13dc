#include "attend/decoder/generation.h"

#include <chrono>
#include <cmath>

#include "attend/bpe/streaming_decoder.h"
#include "attend/sampling/sampler.h"
#include "attend/sampling/stop_matcher.h"

namespace attend::decoder {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void check_request(const LlamaModel& model, const KvCache& cache, std::span<const int32_t> prompt,
                   const GenerationOptions& options) {
  ATTEND_CHECK(!prompt.empty(), ValueError, "generate: the prompt has no tokens");
  ATTEND_CHECK(options.max_tokens >= 1, ValueError, "generate: max_tokens must be at least 1, got {}",
               options.max_tokens);
  options.sampling.validate();
  const int64_t room = model.config().context_length - cache.length();
  ATTEND_CHECK(static_cast<int64_t>(prompt.size()) < room, ValueError,
               "generate: the prompt has {} tokens, but the model's context of {} leaves room for {} after the {} "
               "already held (and one new token)",
               prompt.size(), model.config().context_length, room - 1, cache.length());
}

}  // namespace

std::set<int32_t> end_of_turn_ids(const bpe::BpeTokenizer& tokenizer) {
  std::set<int32_t> ids;
  if (tokenizer.eos_id()) ids.insert(*tokenizer.eos_id());
  for (const char* token : {"<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end|>"}) {
    if (const auto id = tokenizer.id_of(token)) ids.insert(*id);
  }
  return ids;
}

GenerationResult generate(const LlamaModel& model, const bpe::BpeTokenizer& tokenizer, KvCache& cache,
                          std::span<const int32_t> prompt, const GenerationOptions& options, const TokenSink& sink) {
  check_request(model, cache, prompt, options);
  const std::set<int32_t> end_of_turn = end_of_turn_ids(tokenizer);
  sampling::Sampler sampler(options.sampling);
  sampling::StopMatcher stops(options.stops);
  bpe::StreamingDecoder decoder(tokenizer);
  GenerationResult result;
  result.prompt_tokens = static_cast<int64_t>(prompt.size());
  std::vector<int32_t> history(prompt.begin(), prompt.end());

  const Clock::time_point prefill_start = Clock::now();
  std::vector<float> logits = model.forward(prompt, cache).to_vector();  // (V)
  result.prefill_seconds = seconds_since(prefill_start);
  const Clock::time_point decode_start = Clock::now();
  result.finish_reason = "length";
  while (static_cast<int64_t>(result.tokens.size()) < options.max_tokens) {
    const int32_t token = sampler.next(logits, history);
    if (end_of_turn.contains(token) && !options.ignore_end_of_turn) {
      result.finish_reason = "stop";
      break;
    }
    result.tokens.push_back(token);
    history.push_back(token);
    const sampling::StopStep step = stops.feed(decoder.push(token));
    result.text += step.emit;
    const bool go_on = !sink || sink({token, step.emit, sampler.last().model_logprob});
    if (step.stopped || !go_on) {
      result.finish_reason = "stop";
      break;
    }
    if (cache.length() + 1 > cache.context() || static_cast<int64_t>(result.tokens.size()) == options.max_tokens) {
      break;  // "length": the token is kept but not fed, as no logits of it are needed
    }
    logits = model.forward(std::span<const int32_t>(&token, 1), cache).to_vector();
    ++result.tokens_in_cache;
  }
  if (!stops.stopped()) {
    const std::string rest = stops.feed(decoder.flush()).emit + stops.flush();
    result.text += rest;
    if (!rest.empty() && sink) sink({-1, rest, std::nan("")});
  }
  result.decode_seconds = seconds_since(decode_start);
  return result;
}

}  // namespace attend::decoder
