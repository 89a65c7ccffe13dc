// The response bodies of OpenAI's API as attend fills them: embeddings, chat completions and
// (legacy) completions, whole or as the chunks of a stream (server-sent events: each chunk one
// "data: {json}\n\n" event, the stream closed by "data: [DONE]\n\n").
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attend/bpe/bpe_tokenizer.h"
#include "attend/decoder/generation.h"

namespace attend::serve {

using Json = nlohmann::json;

// The text of a JSON value for a response: ill-formed UTF-8 (there should be none) as U+FFFD,
// never an exception.
std::string dump(const Json& value);
// One server-sent event.
std::string sse_event(const Json& value);

// RFC 4648 base64 of the bytes (with padding).
std::string base64(std::span<const uint8_t> bytes);
// An embedding as OpenAI's encoding_format "base64": its float32 values, little-endian, in base64.
std::string embedding_base64(std::span<const float> vector);

// {"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model", "usage"}
Json embeddings_response(const std::string& model, std::span<const float> vectors, int64_t dimension, bool base64,
                         int64_t prompt_tokens);

// What the generation of one request produced, for the bodies below.
struct CompletionOutcome {
  std::string id;  // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0;
  std::string model;
  bool chat = false;
  std::vector<decoder::GeneratedToken> tokens;  // as streamed (a last one with id -1 may carry held-back text)
  decoder::GenerationResult result;
};

// The logprobs of `tokens`: chat's {"content": [{token, logprob, bytes, top_logprobs}]}, or the
// legacy {"tokens", "token_logprobs", "top_logprobs", "text_offset"}.
Json logprobs_json(const bpe::BpeTokenizer& tokenizer, bool chat, std::span<const decoder::GeneratedToken> tokens,
                   int64_t text_offset = 0);

Json completion_response(const bpe::BpeTokenizer& tokenizer, const CompletionOutcome& outcome, bool with_logprobs);

// A stream's chunk: a piece of text (and its tokens' logprobs, or null), the finish reason on
// the last, the role on the first of a chat.
Json completion_chunk(const CompletionOutcome& outcome, const std::string& text, const Json& logprobs,
                      const std::string& finish_reason, bool first);
// The chunk with the usage counts and no choices (stream_options.include_usage).
Json usage_chunk(const CompletionOutcome& outcome);
Json usage_json(int64_t prompt_tokens, int64_t completion_tokens);

}  // namespace attend::serve
