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

struct TextGenerator::State {
  const LlamaModel& model;
  KvCache& cache;
  GenerationOptions options;
  std::set<int32_t> end_of_turn;
  sampling::Sampler sampler;
  sampling::StopMatcher stops;
  bpe::StreamingDecoder decoder;
  std::vector<int32_t> history;  // the prompt and the tokens so far (the penalties read it)
  std::vector<float> logits;     // (V) of the last position fed
  GenerationResult result;
  Clock::time_point decode_start;
  bool flushed = false, done = false;

  State(const LlamaModel& m, const bpe::BpeTokenizer& tokenizer, KvCache& c, std::span<const int32_t> prompt,
        const GenerationOptions& o)
      : model(m),
        cache(c),
        options(o),
        end_of_turn(end_of_turn_ids(tokenizer)),
        sampler(o.sampling),
        stops(o.stops),
        decoder(tokenizer),
        history(prompt.begin(), prompt.end()) {}

  // The rest of the text once the generation ends without a stop string.
  std::optional<GeneratedToken> finish() {
    done = true;
    result.decode_seconds = seconds_since(decode_start);
    if (flushed || stops.stopped()) return std::nullopt;
    flushed = true;
    std::string rest = stops.feed(decoder.flush()).emit + stops.flush();
    if (rest.empty()) return std::nullopt;
    result.text += rest;
    return GeneratedToken{-1, std::move(rest), std::nan("")};
  }

  std::optional<GeneratedToken> step() {
    if (done) return std::nullopt;
    if (static_cast<int64_t>(result.tokens.size()) == options.max_tokens || cache.length() + 1 > cache.context()) {
      return finish();  // "length"
    }
    if (!result.tokens.empty()) {  // feed the previous token: its logits choose this one
      const int32_t previous = result.tokens.back();
      logits = model.forward(std::span<const int32_t>(&previous, 1), cache).to_vector();
      ++result.tokens_in_cache;
    }
    const int32_t token = sampler.next(logits, history);
    if (end_of_turn.contains(token) && !options.ignore_end_of_turn) {
      result.finish_reason = "stop";
      return finish();
    }
    result.tokens.push_back(token);
    history.push_back(token);
    const sampling::StopStep piece = stops.feed(decoder.push(token));
    result.text += piece.emit;
    if (piece.stopped) {
      result.finish_reason = "stop";
      done = true;
      result.decode_seconds = seconds_since(decode_start);
    }
    return GeneratedToken{token, piece.emit, sampler.last().model_logprob};
  }
};

TextGenerator::TextGenerator(const LlamaModel& model, const bpe::BpeTokenizer& tokenizer, KvCache& cache,
                             std::span<const int32_t> prompt, const GenerationOptions& options) {
  check_request(model, cache, prompt, options);
  state_ = std::make_unique<State>(model, tokenizer, cache, prompt, options);
  state_->result.prompt_tokens = static_cast<int64_t>(prompt.size());
  state_->result.finish_reason = "length";
  const Clock::time_point prefill_start = Clock::now();
  state_->logits = model.forward(prompt, cache).to_vector();  // (V)
  state_->result.prefill_seconds = seconds_since(prefill_start);
  state_->decode_start = Clock::now();
}

TextGenerator::~TextGenerator() = default;
TextGenerator::TextGenerator(TextGenerator&&) noexcept = default;

std::optional<GeneratedToken> TextGenerator::next() { return state_->step(); }

void TextGenerator::stop() {
  if (state_->done) return;
  state_->result.finish_reason = "stop";
  state_->done = true;
  state_->flushed = true;
  state_->result.decode_seconds = seconds_since(state_->decode_start);
}

bool TextGenerator::finished() const { return state_->done; }
const GenerationResult& TextGenerator::result() const { return state_->result; }

GenerationResult generate(const LlamaModel& model, const bpe::BpeTokenizer& tokenizer, KvCache& cache,
                          std::span<const int32_t> prompt, const GenerationOptions& options, const TokenSink& sink) {
  TextGenerator generator(model, tokenizer, cache, prompt, options);
  while (const std::optional<GeneratedToken> token = generator.next()) {
    if (sink && !sink(*token)) generator.stop();
  }
  return generator.result();
}

}  // namespace attend::decoder
