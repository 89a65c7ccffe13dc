#include "attend/decoder/generation.h"

#include <chrono>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "attend/bpe/streaming_decoder.h"
#include "attend/sampling/sampler.h"
#include "attend/sampling/stop_matcher.h"

namespace attend::decoder {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void check_request(const LlamaConfig& config, const KvCache& cache, std::span<const int32_t> prompt,
                   const GenerationOptions& options) {
  ATTEND_CHECK(!prompt.empty(), ValueError, "generate: the prompt has no tokens");
  ATTEND_CHECK(options.max_tokens >= 1, ValueError, "generate: max_tokens must be at least 1, got {}",
               options.max_tokens);
  ATTEND_CHECK(options.top_logprobs >= 0 && options.top_logprobs <= 20, ValueError,
               "generate: top_logprobs must be in [0, 20], got {}", options.top_logprobs);
  options.sampling.validate();
  const int64_t room = config.context_length - cache.length();
  ATTEND_CHECK(static_cast<int64_t>(prompt.size()) < room, ValueError,
               "generate: the prompt has {} tokens, but the model's context of {} leaves room for {} after the {} "
               "already held (and one new token)",
               prompt.size(), config.context_length, room - 1, cache.length());
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

namespace {

// The k most probable tokens of softmax(logits), most probable first (ties: lower id), with
// log p = l_v - max - log sum exp(l - max) in float64.
std::vector<std::pair<int32_t, double>> top_log_probabilities(std::span<const float> logits, int64_t k) {
  if (k == 0) return {};
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (const float l : logits) sum += std::exp(static_cast<double>(l) - max);
  const double log_sum = std::log(sum);
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  const auto more_probable = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  const int64_t kept = std::min<int64_t>(k, static_cast<int64_t>(ids.size()));
  std::partial_sort(ids.begin(), ids.begin() + kept, ids.end(), more_probable);
  std::vector<std::pair<int32_t, double>> top;
  for (int64_t i = 0; i < kept; ++i) top.emplace_back(ids[i], static_cast<double>(logits[ids[i]]) - max - log_sum);
  return top;
}

}  // namespace

struct SequenceGeneration::State {
  KvCache& cache;
  GenerationOptions options;
  std::set<int32_t> end_of_turn;
  sampling::Sampler sampler;
  sampling::StopMatcher stops;
  bpe::StreamingDecoder decoder;
  std::vector<int32_t> history;  // the prompt and the tokens so far (the penalties read it)
  std::vector<int32_t> input;    // what the model runs next: the prompt, then the latest token
  std::vector<float> logits;     // (V) of the last position run
  GenerationResult result;
  Clock::time_point created, decode_start;
  bool prefilled = false, flushed = false, done = false;

  State(const bpe::BpeTokenizer& tokenizer, KvCache& c, std::span<const int32_t> prompt, const GenerationOptions& o)
      : cache(c),
        options(o),
        end_of_turn(end_of_turn_ids(tokenizer)),
        sampler(o.sampling),
        stops(o.stops),
        decoder(tokenizer),
        history(prompt.begin(), prompt.end()),
        input(prompt.begin(), prompt.end()),
        created(Clock::now()) {
    result.prompt_tokens = static_cast<int64_t>(prompt.size());
    result.finish_reason = "length";
  }

  bool at_limit() const {
    return static_cast<int64_t>(result.tokens.size()) == options.max_tokens || cache.length() + 1 > cache.context();
  }

  void end() {
    done = true;
    result.decode_seconds = seconds_since(decode_start);
  }

  // The rest of the text once the generation ends without a stop string.
  std::optional<GeneratedToken> finish() {
    end();
    if (flushed || stops.stopped()) return std::nullopt;
    flushed = true;
    std::string rest = stops.feed(decoder.flush()).emit + stops.flush();
    if (rest.empty()) return std::nullopt;
    result.text += rest;
    return GeneratedToken{-1, std::move(rest), std::nan(""), {}};
  }

  void accept(std::span<const float> new_logits) {
    ATTEND_CHECK(!input.empty(), ValueError, "SequenceGeneration: logits given while no model input was pending");
    ATTEND_CHECK(new_logits.size() == logits.size() || logits.empty(), ValueError,
                 "SequenceGeneration: logits of {} tokens for a vocabulary of {}", new_logits.size(), logits.size());
    if (!prefilled) {
      prefilled = true;
      result.prefill_seconds = seconds_since(created);
      decode_start = Clock::now();
    } else {
      ++result.tokens_in_cache;
    }
    logits.assign(new_logits.begin(), new_logits.end());
    input.clear();
  }

  std::optional<GeneratedToken> step() {
    if (done) return std::nullopt;
    if (!result.tokens.empty() && at_limit()) return finish();  // "length"
    ATTEND_CHECK(input.empty(), ValueError, "SequenceGeneration: next() before the model ran its {} input tokens",
                 input.size());
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
      end();
    } else if (!at_limit()) {
      input.assign(1, token);  // its logits choose the next one
    }
    return GeneratedToken{token, piece.emit, sampler.last().model_logprob,
                          top_log_probabilities(logits, options.top_logprobs)};
  }
};

SequenceGeneration::SequenceGeneration(const LlamaConfig& config, const bpe::BpeTokenizer& tokenizer, KvCache& cache,
                                       std::span<const int32_t> prompt, const GenerationOptions& options) {
  check_request(config, cache, prompt, options);
  state_ = std::make_unique<State>(tokenizer, cache, prompt, options);
}

SequenceGeneration::~SequenceGeneration() = default;
SequenceGeneration::SequenceGeneration(SequenceGeneration&&) noexcept = default;

std::span<const int32_t> SequenceGeneration::model_input() const {
  if (state_->done) return {};
  return state_->input;
}
void SequenceGeneration::accept_logits(std::span<const float> logits) { state_->accept(logits); }
std::optional<GeneratedToken> SequenceGeneration::next() { return state_->step(); }

void SequenceGeneration::stop() {
  if (state_->done) return;
  state_->result.finish_reason = "stop";
  state_->flushed = true;
  state_->end();
}

bool SequenceGeneration::finished() const { return state_->done; }
const GenerationResult& SequenceGeneration::result() const { return state_->result; }
KvCache& SequenceGeneration::cache() { return state_->cache; }

int64_t run_model_inputs(const LlamaModel& model, std::span<SequenceGeneration* const> sequences) {
  std::vector<Segment> segments;
  std::vector<SequenceGeneration*> running;
  int64_t tokens = 0;
  for (SequenceGeneration* sequence : sequences) {
    const std::span<const int32_t> input = sequence->model_input();
    if (input.empty()) continue;
    segments.push_back({input, &sequence->cache()});
    running.push_back(sequence);
    tokens += static_cast<int64_t>(input.size());
  }
  if (segments.empty()) return 0;
  const Tensor<float> logits = model.forward(segments);  // (segments, V)
  const int64_t vocabulary = logits.size(1);
  for (size_t s = 0; s < running.size(); ++s) {
    running[s]->accept_logits(std::span<const float>(logits.data() + s * vocabulary, vocabulary));
  }
  return tokens;
}

TextGenerator::TextGenerator(const LlamaModel& model, const bpe::BpeTokenizer& tokenizer, KvCache& cache,
                             std::span<const int32_t> prompt, const GenerationOptions& options)
    : model_(&model), sequence_(model.config(), tokenizer, cache, prompt, options) {
  SequenceGeneration* one = &sequence_;
  run_model_inputs(model, std::span<SequenceGeneration* const>(&one, 1));  // the prefill
}

TextGenerator::~TextGenerator() = default;
TextGenerator::TextGenerator(TextGenerator&&) noexcept = default;

std::optional<GeneratedToken> TextGenerator::next() {
  SequenceGeneration* one = &sequence_;
  run_model_inputs(*model_, std::span<SequenceGeneration* const>(&one, 1));
  return sequence_.next();
}

void TextGenerator::stop() { sequence_.stop(); }
bool TextGenerator::finished() const { return sequence_.finished(); }
const GenerationResult& TextGenerator::result() const { return sequence_.result(); }

GenerationResult generate(const LlamaModel& model, const bpe::BpeTokenizer& tokenizer, KvCache& cache,
                          std::span<const int32_t> prompt, const GenerationOptions& options, const TokenSink& sink) {
  TextGenerator generator(model, tokenizer, cache, prompt, options);
  while (const std::optional<GeneratedToken> token = generator.next()) {
    if (sink && !sink(*token)) generator.stop();
  }
  return generator.result();
}

}  // namespace attend::decoder
