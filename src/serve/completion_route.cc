// POST /v1/chat/completions and /v1/completions: the prompt checked and tokenized on the HTTP
// thread, the generation queued on the scheduler, the answer collected whole or streamed as
// server-sent events (a client that leaves cancels its sequence at the next token).
#include <random>

#include <fmt/format.h>

#include "attend/serve/api_error.h"
#include "serve/openai_requests.h"
#include "serve/openai_responses.h"
#include "attend/serve/service.h"

namespace attend::serve {
namespace {

// How often a stream with nothing to say checks that its client is still there (an SSE comment).
constexpr std::chrono::milliseconds kKeepAlive{1000};
constexpr std::chrono::milliseconds kPoll{50};

ApiError context_exceeded(int64_t context, int64_t prompt_tokens, int64_t max_tokens) {
  return bad_request("context_length_exceeded",
                     fmt::format("This model's maximum context length is {} tokens; the prompt has {} and max_tokens "
                                 "asks for {} more",
                                 context, prompt_tokens, max_tokens),
                     "max_tokens");
}

// Cancels a generation when the last copy of it goes.
struct CancelOnDestroy {
  explicit CancelOnDestroy(std::shared_ptr<GenerationStream> s) : stream(std::move(s)) {}
  ~CancelOnDestroy() { stream->cancel(); }
  CancelOnDestroy(const CancelOnDestroy&) = delete;
  CancelOnDestroy& operator=(const CancelOnDestroy&) = delete;
  std::shared_ptr<GenerationStream> stream;
};

uint64_t random_seed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) | device();
}

// The prompt's token ids: the chat template rendered and tokenized, the text tokenized, or the
// ids checked against the vocabulary.
std::vector<int32_t> completion_prompt(const CompletionRequest& request, const bpe::BpeTokenizer& bpe,
                                       const std::optional<decoder::ChatTemplate>& chat_template,
                                       const std::string& chat_template_error) {
  if (request.chat) {
    if (!chat_template) throw bad_request("unsupported_model", chat_template_error, "model");
    try {
      return bpe.encode(chat_template->render(request.messages));
    } catch (const ValueError& e) {
      throw bad_request("invalid_value", e.what(), "messages");
    }
  }
  if (!request.prompt_is_tokens) {
    if (request.prompt.empty()) throw bad_request("invalid_value", "'prompt' is empty", "prompt");
    return bpe.encode(request.prompt);
  }
  for (const int32_t id : request.prompt_tokens) {
    if (id < 0 || id >= bpe.vocabulary_size()) {
      throw bad_request("invalid_value",
                        fmt::format("'prompt' holds token id {}, outside [0, {})", id, bpe.vocabulary_size()),
                        "prompt");
    }
  }
  return request.prompt_tokens;
}

}  // namespace

HttpReply Service::completions(const std::string& body_text, bool chat, std::shared_ptr<InFlight> in_flight) {
  const Json body = parse_json_body(body_text);
  CompletionRequest request = chat ? parse_chat_request(body) : parse_completion_request(body);
  if (!decoder_) throw ApiError(404, "not_found_error", "model_not_found", "no chat model is served here", "model");
  if (request.model != options_.chat_model_id) throw model_not_found(request.model);
  const std::vector<int32_t> prompt = completion_prompt(request, *bpe_, chat_template_, chat_template_error_);
  const int64_t context = decoder_->config().context_length;
  const int64_t prompt_tokens = static_cast<int64_t>(prompt.size());
  decoder::GenerationOptions& options = request.options;
  if (!request.max_tokens_given) options.max_tokens = std::max<int64_t>(1, context - prompt_tokens);
  if (prompt_tokens + options.max_tokens > context) throw context_exceeded(context, prompt_tokens, options.max_tokens);
  if (!request.seed_given) options.sampling.seed = random_seed();

  auto outcome = std::make_shared<CompletionOutcome>();
  outcome->id = fmt::format("{}-{:x}{:06x}", chat ? "chatcmpl" : "cmpl", started_, next_id_++);
  outcome->created = static_cast<int64_t>(std::time(nullptr));
  outcome->model = request.model;
  outcome->chat = chat;
  const std::shared_ptr<GenerationStream> stream =
      scheduler_->submit(prompt, options, Clock::now() + options_.request_timeout);
  const bool logprobs = options.sampling.want_logprobs;

  if (!request.stream) {
    while (true) {
      std::optional<GenerationEvent> event = stream->wait_next(kKeepAlive);
      if (!event) continue;  // the scheduler ends every request (done, error or its deadline)
      if (event->kind == GenerationEvent::Kind::token) {
        outcome->tokens.push_back(std::move(event->token));
      } else if (event->kind == GenerationEvent::Kind::error) {
        throw ApiError(event->status, event->status == 408 ? "timeout_error" : "server_error",
                       event->status == 408 ? "timeout" : "internal_error", event->message);
      } else {
        outcome->result = std::move(event->result);
        return {200, "application/json", dump(completion_response(*bpe_, *outcome, logprobs)), nullptr};
      }
    }
  }

  HttpReply reply{200, "text/event-stream", "", nullptr};
  const bool include_usage = request.include_usage;
  // However the HTTP layer ends with the stream (run to its end, or dropped unrun when the client
  // left before the headers went out), the sequence is cancelled: a no-op once it has finished.
  const auto cancel_at_end = std::make_shared<CancelOnDestroy>(stream);
  reply.stream = [this, stream, outcome, in_flight, logprobs, include_usage, cancel_at_end](const ChunkWriter& write) {
    const auto send = [&](const std::string& event) {
      if (write(event)) return true;
      stream->cancel();  // the client left: free its sequence
      in_flight->set_status(499);
      return false;
    };
    if (outcome->chat && !send(sse_event(completion_chunk(*outcome, "", nullptr, "", true)))) return;
    int64_t text_offset = 0;
    Clock::time_point last_write = Clock::now();
    while (true) {
      std::optional<GenerationEvent> event = stream->wait_next(kPoll);
      if (!event) {
        if (Clock::now() - last_write < kKeepAlive) continue;
        if (!send(": waiting\n\n")) return;
        last_write = Clock::now();
        continue;
      }
      last_write = Clock::now();
      if (event->kind == GenerationEvent::Kind::error) {
        in_flight->set_status(event->status);
        send(sse_event(Json::parse(ApiError(event->status, "server_error", "", event->message).body())));
        return;
      }
      if (event->kind == GenerationEvent::Kind::done) {
        outcome->result = std::move(event->result);
        if (!send(sse_event(completion_chunk(*outcome, "", nullptr, outcome->result.finish_reason, false)))) return;
        if (include_usage && !send(sse_event(usage_chunk(*outcome)))) return;
        send("data: [DONE]\n\n");
        return;
      }
      const decoder::GeneratedToken& token = event->token;
      const bool with_logprobs = logprobs && token.id >= 0;
      if (token.text.empty() && !with_logprobs) continue;
      const Json token_logprobs =
          with_logprobs ? logprobs_json(*bpe_, outcome->chat, std::span(&token, 1), text_offset) : Json(nullptr);
      text_offset += static_cast<int64_t>(token.text.size());
      if (!send(sse_event(completion_chunk(*outcome, token.text, token_logprobs, "", false)))) return;
    }
  };
  return reply;
}

}  // namespace attend::serve
