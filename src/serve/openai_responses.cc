#include "serve/openai_responses.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "attend/bpe/utf8_repair.h"

namespace attend::serve {
namespace {

Json token_entry(const bpe::BpeTokenizer& tokenizer, int32_t id, double logprob) {
  const std::string_view bytes = tokenizer.token_bytes(id);
  return Json{{"token", bpe::replace_invalid_utf8(bytes)},
              {"logprob", logprob},
              {"bytes", std::vector<uint8_t>(bytes.begin(), bytes.end())}};
}

Json chat_logprobs(const bpe::BpeTokenizer& tokenizer, std::span<const decoder::GeneratedToken> tokens) {
  Json content = Json::array();
  for (const decoder::GeneratedToken& t : tokens) {
    if (t.id < 0) continue;
    Json entry = token_entry(tokenizer, t.id, t.logprob);
    Json top = Json::array();
    for (const auto& [id, logprob] : t.top_logprobs) top.push_back(token_entry(tokenizer, id, logprob));
    entry["top_logprobs"] = std::move(top);
    content.push_back(std::move(entry));
  }
  return Json{{"content", std::move(content)}};
}

Json legacy_logprobs(const bpe::BpeTokenizer& tokenizer, std::span<const decoder::GeneratedToken> tokens,
                     int64_t text_offset) {
  Json names = Json::array(), logprobs = Json::array(), tops = Json::array(), offsets = Json::array();
  for (const decoder::GeneratedToken& t : tokens) {
    if (t.id < 0) continue;
    names.push_back(bpe::replace_invalid_utf8(tokenizer.token_bytes(t.id)));
    logprobs.push_back(t.logprob);
    Json top = Json::object();
    for (const auto& [id, logprob] : t.top_logprobs)
      top[bpe::replace_invalid_utf8(tokenizer.token_bytes(id))] = logprob;
    tops.push_back(std::move(top));
    offsets.push_back(text_offset);
    text_offset += static_cast<int64_t>(t.text.size());
  }
  return Json{{"tokens", names}, {"token_logprobs", logprobs}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

Json choice_header(const CompletionOutcome& outcome) {
  return Json{{"id", outcome.id},
              {"object", outcome.chat ? "chat.completion" : "text_completion"},
              {"created", outcome.created},
              {"model", outcome.model},
              {"system_fingerprint", "attend"}};
}

}  // namespace

std::string dump(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string sse_event(const Json& value) { return "data: " + dump(value) + "\n\n"; }

std::string base64(std::span<const uint8_t> bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t group = static_cast<uint32_t>(bytes[i]) << 16;  // 24 bits: three bytes, four 6-bit digits
    if (n > 1) group |= static_cast<uint32_t>(bytes[i + 1]) << 8;
    if (n > 2) group |= bytes[i + 2];
    for (size_t digit = 0; digit < 4; ++digit) {
      text += digit <= n ? kAlphabet[(group >> (18 - 6 * digit)) & 63] : '=';
    }
  }
  return text;
}

std::string embedding_base64(std::span<const float> vector) {
  static_assert(std::endian::native == std::endian::little, "base64 embeddings are little-endian float32");
  std::vector<uint8_t> bytes(vector.size() * sizeof(float));
  std::memcpy(bytes.data(), vector.data(), bytes.size());
  return base64(bytes);
}

Json usage_json(int64_t prompt_tokens, int64_t completion_tokens) {
  return Json{{"prompt_tokens", prompt_tokens},
              {"completion_tokens", completion_tokens},
              {"total_tokens", prompt_tokens + completion_tokens}};
}

Json embeddings_response(const std::string& model, std::span<const float> vectors, int64_t dimension, bool base64,
                         int64_t prompt_tokens) {
  Json data = Json::array();
  const int64_t count = static_cast<int64_t>(vectors.size()) / dimension;
  for (int64_t i = 0; i < count; ++i) {
    const std::span<const float> row = vectors.subspan(i * dimension, dimension);
    Json embedding = base64 ? Json(embedding_base64(row)) : Json(std::vector<float>(row.begin(), row.end()));
    data.push_back(Json{{"object", "embedding"}, {"index", i}, {"embedding", std::move(embedding)}});
  }
  return Json{{"object", "list"},
              {"data", std::move(data)},
              {"model", model},
              {"usage", {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}}}};
}

Json logprobs_json(const bpe::BpeTokenizer& tokenizer, bool chat, std::span<const decoder::GeneratedToken> tokens,
                   int64_t text_offset) {
  return chat ? chat_logprobs(tokenizer, tokens) : legacy_logprobs(tokenizer, tokens, text_offset);
}

Json completion_response(const bpe::BpeTokenizer& tokenizer, const CompletionOutcome& outcome, bool with_logprobs) {
  Json response = choice_header(outcome);
  Json choice{{"index", 0},
              {"logprobs", with_logprobs ? logprobs_json(tokenizer, outcome.chat, outcome.tokens) : Json(nullptr)},
              {"finish_reason", outcome.result.finish_reason}};
  if (outcome.chat) {
    choice["message"] = Json{{"role", "assistant"}, {"content", outcome.result.text}};
  } else {
    choice["text"] = outcome.result.text;
  }
  response["choices"] = Json::array({std::move(choice)});
  response["usage"] = usage_json(outcome.result.prompt_tokens, static_cast<int64_t>(outcome.result.tokens.size()));
  return response;
}

Json completion_chunk(const CompletionOutcome& outcome, const std::string& text, const Json& logprobs,
                      const std::string& finish_reason, bool first) {
  Json chunk = choice_header(outcome);
  chunk["object"] = outcome.chat ? "chat.completion.chunk" : "text_completion";
  Json choice{{"index", 0},
              {"logprobs", logprobs},
              {"finish_reason", finish_reason.empty() ? Json(nullptr) : Json(finish_reason)}};
  if (outcome.chat) {
    Json delta = Json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || first) delta["content"] = text;
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = text;
  }
  chunk["choices"] = Json::array({std::move(choice)});
  return chunk;
}

Json usage_chunk(const CompletionOutcome& outcome) {
  Json chunk = choice_header(outcome);
  chunk["object"] = outcome.chat ? "chat.completion.chunk" : "text_completion";
  chunk["choices"] = Json::array();
  chunk["usage"] = usage_json(outcome.result.prompt_tokens, static_cast<int64_t>(outcome.result.tokens.size()));
  return chunk;
}

}  // namespace attend::serve
