// The OpenAI request parser and response builders: fields read with their types and ranges,
// every refusal a 400 naming the field; base64 as RFC 4648's test vectors; error bodies in
// OpenAI's shape; Prometheus text with cumulative buckets.
#include <gtest/gtest.h>

#include <cstring>

#include "attend/serve/api_error.h"
#include "attend/serve/metrics.h"
#include "serve/openai_requests.h"
#include "serve/openai_responses.h"

namespace attend::serve {
namespace {

ApiError refusal(const std::function<void()>& call) {
  try {
    call();
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "no ApiError";
  return ApiError(0, "", "", "");
}

TEST(OpenAiRequests, ChatFieldsAreRead) {
  const CompletionRequest r = parse_chat_request(Json::parse(R"({
    "model": "m", "messages": [{"role": "developer", "content": [{"type": "text", "text": "Be "}, {"type": "text", "text": "brief"}]},
                               {"role": "user", "content": "Hi"}],
    "max_completion_tokens": 7, "temperature": 0.5, "top_p": 0.9, "seed": -3, "stop": "END", "logprobs": true,
    "top_logprobs": 4, "stream": true, "stream_options": {"include_usage": true}, "presence_penalty": 1.5,
    "top_k": 12, "min_p": 0.1, "user": "ignored", "n": 1})"));
  EXPECT_TRUE(r.chat);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, "system");  // OpenAI's newer name for it
  EXPECT_EQ(r.messages[0].content, "Be brief");
  EXPECT_EQ(r.options.max_tokens, 7);
  EXPECT_TRUE(r.max_tokens_given);
  EXPECT_EQ(r.options.sampling.temperature, 0.5f);
  EXPECT_EQ(r.options.sampling.top_p, 0.9f);
  EXPECT_EQ(r.options.sampling.seed, static_cast<uint64_t>(-3));
  EXPECT_TRUE(r.seed_given);
  EXPECT_EQ(r.options.stops, std::vector<std::string>{"END"});
  EXPECT_TRUE(r.options.sampling.want_logprobs);
  EXPECT_EQ(r.options.top_logprobs, 4);
  EXPECT_TRUE(r.stream && r.include_usage);
  EXPECT_EQ(r.options.sampling.presence_penalty, 1.5f);
  EXPECT_EQ(r.options.sampling.top_k, 12);
  EXPECT_EQ(r.options.sampling.min_p, 0.1f);
}

TEST(OpenAiRequests, DefaultsAreOpenAIs) {
  const CompletionRequest chat =
      parse_chat_request(Json::parse(R"({"model": "m", "messages": [{"role": "user", "content": "x"}]})"));
  EXPECT_FALSE(chat.max_tokens_given);
  EXPECT_FALSE(chat.seed_given);
  EXPECT_EQ(chat.options.sampling.temperature, 1.0f);
  EXPECT_EQ(chat.options.sampling.top_p, 1.0f);
  EXPECT_EQ(chat.options.sampling.top_k, 0);
  EXPECT_EQ(chat.options.sampling.min_p, 0.0f);
  const CompletionRequest text = parse_completion_request(Json::parse(R"({"model": "m", "prompt": ["hello"]})"));
  EXPECT_EQ(text.options.max_tokens, 16);  // the legacy API's default
  EXPECT_EQ(text.prompt, "hello");
  const CompletionRequest ids =
      parse_completion_request(Json::parse(R"({"model": "m", "prompt": [1, 2, 3], "logprobs": 2})"));
  EXPECT_TRUE(ids.prompt_is_tokens);
  EXPECT_EQ(ids.prompt_tokens, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(ids.options.top_logprobs, 2);
}

TEST(OpenAiRequests, EmbeddingInputsOfEveryShape) {
  EXPECT_EQ(parse_embedding_request(Json::parse(R"({"model": "m", "input": "a"})")).inputs.size(), 1u);
  const EmbeddingRequest strings =
      parse_embedding_request(Json::parse(R"({"model": "m", "input": ["a", "b"], "encoding_format": "base64"})"));
  EXPECT_EQ(strings.inputs.size(), 2u);
  EXPECT_TRUE(strings.base64);
  const EmbeddingRequest one_array = parse_embedding_request(Json::parse(R"({"model": "m", "input": [101, 7, 102]})"));
  ASSERT_EQ(one_array.inputs.size(), 1u);
  EXPECT_TRUE(one_array.inputs[0].is_tokens);
  EXPECT_EQ(one_array.inputs[0].tokens, (std::vector<int64_t>{101, 7, 102}));
  EXPECT_EQ(parse_embedding_request(Json::parse(R"({"model": "m", "input": [[1], [2, 3]]})")).inputs.size(), 2u);
}

TEST(OpenAiRequests, RefusalsNameTheField) {
  const auto chat = [](const std::string& extra) {
    return [extra] {
      parse_chat_request(Json::parse(R"({"model": "m", "messages": [{"role": "user", "content": "x"}])" + extra + "}"));
    };
  };
  struct Case {
    std::function<void()> call;
    std::string code, param, fragment;
  };
  const std::vector<Case> cases = {
      {chat(R"(, "max_tokens": 0)"), "invalid_value", "max_tokens", "in [1, "},
      {chat(R"(, "max_tokens": "5")"), "invalid_type", "max_tokens", "must be an integer, got a string"},
      {chat(R"(, "temperature": -0.1)"), "invalid_value", "temperature", "in [0, 2]"},
      {chat(R"(, "top_p": 0)"), "invalid_value", "top_p", "in (0, 1]"},
      {chat(R"(, "n": 3)"), "unsupported_value", "n", "must be 1"},
      {chat(R"(, "stop": ["a", 1])"), "invalid_type", "stop", "a string or an array of up to 4 strings"},
      {chat(R"(, "stream_options": {"include_usage": true})"), "invalid_value", "stream_options", "needs 'stream'"},
      {chat(R"(, "tools": [{"type": "function"}])"), "unsupported_parameter", "tools", "not supported"},
      {chat(R"(, "response_format": {"type": "json_object"})"), "unsupported_value", "response_format", "text"},
      {chat(R"(, "top_logprobs": 21, "logprobs": true)"), "invalid_value", "top_logprobs", "in [0, 20]"},
      {[] { parse_chat_request(Json::parse(R"({"messages": []})")); }, "missing_required_parameter", "model",
       "required"},
      {[] { parse_chat_request(Json::parse(R"({"model": "m", "messages": [5]})")); }, "invalid_type", "messages[0]",
       "an object"},
      {[] { parse_embedding_request(Json::parse(R"({"model": "m", "input": [[]]})")); }, "invalid_value", "input",
       "empty token array"},
      {[] { parse_embedding_request(Json::parse(R"({"model": "m", "input": [1.5]})")); }, "invalid_type", "input",
       "an array of integers"},
      {[] { parse_embedding_request(Json::parse(R"({"model": "m", "input": "x", "encoding_format": "hex"})")); },
       "invalid_value", "encoding_format", "\"float\" or \"base64\""},
      {[] { parse_completion_request(Json::parse(R"({"model": "m", "prompt": ["a", "b"]})")); }, "invalid_type",
       "prompt", "an array of one string"},
      {[] { parse_completion_request(Json::parse(R"({"model": "m", "prompt": "a", "echo": true})")); },
       "unsupported_value", "echo", "not supported"},
  };
  for (const Case& c : cases) {
    const ApiError e = refusal(c.call);
    EXPECT_EQ(e.status(), 400) << e.what();
    EXPECT_EQ(e.code(), c.code) << e.what();
    EXPECT_EQ(e.param(), c.param) << e.what();
    EXPECT_NE(std::string(e.what()).find(c.fragment), std::string::npos) << e.what();
  }
}

TEST(OpenAiRequests, BodiesThatAreNotJsonObjects) {
  EXPECT_EQ(refusal([] { parse_json_body("{\"a\": "); }).code(), "invalid_json");
  EXPECT_EQ(refusal([] { parse_json_body("\"caf\xe9\""); }).code(), "invalid_json");  // ill-formed UTF-8
  EXPECT_EQ(refusal([] { parse_json_body("[]"); }).code(), "invalid_type");
  EXPECT_EQ(refusal([] { parse_json_body(""); }).code(), "invalid_json");
}

TEST(OpenAiResponses, Base64IsRfc4648) {
  const auto encode = [](const char* text) {
    return base64(std::span(reinterpret_cast<const uint8_t*>(text), std::strlen(text)));
  };
  EXPECT_EQ(encode(""), "");
  EXPECT_EQ(encode("f"), "Zg==");
  EXPECT_EQ(encode("fo"), "Zm8=");
  EXPECT_EQ(encode("foo"), "Zm9v");
  EXPECT_EQ(encode("foob"), "Zm9vYg==");
  EXPECT_EQ(encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(encode("foobar"), "Zm9vYmFy");
  const std::vector<uint8_t> high = {0xff, 0xfe, 0x00};
  EXPECT_EQ(base64(high), "//4A");
  const std::vector<float> one = {1.0f};  // 0x3f800000, little-endian 00 00 80 3f
  EXPECT_EQ(embedding_base64(one), "AACAPw==");
}

TEST(OpenAiResponses, ErrorBodiesHaveOpenAIsShape) {
  const Json body = Json::parse(bad_request("invalid_value", "'n' must be 1", "n").body());
  EXPECT_EQ(body, Json::parse(R"({"error": {"message": "'n' must be 1", "type": "invalid_request_error", "param": "n",
                                            "code": "invalid_value"}})"));
  const Json too_large = Json::parse(error_body(413, "too large"));
  EXPECT_EQ(too_large["error"]["type"], "invalid_request_error");
  EXPECT_TRUE(too_large["error"]["code"].is_null());
  EXPECT_EQ(Json::parse(error_body(429, "later"))["error"]["type"], "rate_limit_error");
}

TEST(Metrics, PrometheusTextWithCumulativeBuckets) {
  Metrics metrics;
  metrics.record_request("/v1/embeddings", 200, 0.003);
  metrics.record_request("/v1/embeddings", 200, 0.2);
  metrics.record_request("/v1/embeddings", 400, 100);
  metrics.add("attend_completion_tokens_total", 5);
  const std::string text = metrics.render();
  for (const char* line :
       {"# TYPE attend_requests_total counter", "attend_requests_total{route=\"/v1/embeddings\",status=\"200\"} 2\n",
        "attend_requests_total{route=\"/v1/embeddings\",status=\"400\"} 1\n",
        "attend_request_duration_seconds_bucket{route=\"/v1/embeddings\",le=\"0.005\"} 1\n",
        "attend_request_duration_seconds_bucket{route=\"/v1/embeddings\",le=\"0.25\"} 2\n",
        "attend_request_duration_seconds_bucket{route=\"/v1/embeddings\",le=\"60\"} 2\n",
        "attend_request_duration_seconds_bucket{route=\"/v1/embeddings\",le=\"+Inf\"} 3\n",
        "attend_request_duration_seconds_count{route=\"/v1/embeddings\"} 3\n", "attend_completion_tokens_total 5\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
  EXPECT_THROW(metrics.add("undeclared", 1), ValueError);
}

}  // namespace
}  // namespace attend::serve
