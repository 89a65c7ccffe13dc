// The request bodies of OpenAI's API that `attend serve` answers, parsed and checked before any
// work starts: a field of the wrong type, out of its range, or one attend does not support (n > 1,
// echo, tools, ...) is a 400 ApiError naming the field; unknown fields are ignored, as OpenAI's
// clients send only what they were given. A null field counts as absent.
//
//   POST /v1/embeddings        {model, input: string | [string] | [int] | [[int]], encoding_format}
//   POST /v1/chat/completions  {model, messages: [{role, content}], max_tokens | max_completion_tokens,
//                               temperature, top_p, seed, stop, logprobs, top_logprobs, stream,
//                               stream_options: {include_usage}, frequency_penalty, presence_penalty}
//   POST /v1/completions       {model, prompt: string | [string] (one) | [int], max_tokens, ...,
//                               logprobs: int (alternatives a token, as the legacy API)}
// attend's extensions, as llama.cpp's server and vLLM take them: top_k, min_p, repetition_penalty,
// ignore_eos (generate max_tokens tokens, past the end of the turn: benchmarks).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "attend/decoder/chat_template.h"
#include "attend/decoder/generation.h"

namespace attend::serve {

using Json = nlohmann::json;

// The body as a JSON object: 400 "invalid_json" (with the parser's reason: syntax, ill-formed
// UTF-8) or "invalid_type" for anything else than an object.
Json parse_json_body(std::string_view body);

// body[key] as a string; nullopt when absent or null; 400 "invalid_type" for another type.
std::optional<std::string> optional_string(const Json& body, const char* key);

struct EmbeddingInput {
  std::string text;             // a string input
  std::vector<int64_t> tokens;  // a token array, taken as the whole sequence the model runs
  bool is_tokens = false;
};

struct EmbeddingRequest {
  std::string model;
  std::vector<EmbeddingInput> inputs;  // at least one
  bool base64 = false;                 // encoding_format "base64": little-endian float32 bytes
};

EmbeddingRequest parse_embedding_request(const Json& body);

struct CompletionRequest {
  std::string model;
  bool chat = false;
  std::vector<decoder::ChatMessage> messages;  // chat
  std::string prompt;                          // completions: text ...
  std::vector<int32_t> prompt_tokens;          // ... or token ids
  bool prompt_is_tokens = false;
  decoder::GenerationOptions options;  // max_tokens, sampling (want_logprobs), stops, top_logprobs
  bool max_tokens_given = false;       // chat without max_tokens: up to the context
  bool seed_given = false;             // without a seed the server draws one
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage: a last chunk with the counts
};

CompletionRequest parse_chat_request(const Json& body);
CompletionRequest parse_completion_request(const Json& body);

}  // namespace attend::serve
