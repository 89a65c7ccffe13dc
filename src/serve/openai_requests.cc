#include "serve/openai_requests.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "attend/serve/api_error.h"
#include "io/json_file.h"

namespace attend::serve {
namespace {

[[noreturn]] void wrong_type(const std::string& field, const char* expected, const Json& value) {
  throw bad_request("invalid_type", fmt::format("'{}' must be {}, got {}", field, expected, io::json_kind(value)),
                    field);
}

[[noreturn]] void out_of_range(const std::string& field, const std::string& range, const Json& value) {
  throw bad_request("invalid_value", fmt::format("'{}' must be {}, got {}", field, range, value.dump()), field);
}

// Whether object[key] is the string `expected` (false for any other type: never a raw exception).
bool is_string_equal(const Json& object, const char* key, const char* expected) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() && it->get_ref<const std::string&>() == expected;
}

// The field, or nullptr when absent or null.
const Json* field(const Json& body, const char* key) {
  const auto it = body.find(key);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

std::optional<bool> boolean(const Json& body, const char* key) {
  const Json* value = field(body, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) wrong_type(key, "a boolean", *value);
  return value->get<bool>();
}

std::optional<std::string> string(const Json& body, const char* key) {
  const Json* value = field(body, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) wrong_type(key, "a string", *value);
  return value->get<std::string>();
}

std::optional<int64_t> integer(const Json& body, const char* key, int64_t least, int64_t most) {
  const Json* value = field(body, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number_integer()) wrong_type(key, "an integer", *value);
  if (value->is_number_unsigned() && value->get<uint64_t>() > static_cast<uint64_t>(most)) {
    out_of_range(key, fmt::format("in [{}, {}]", least, most), *value);
  }
  const int64_t number = value->get<int64_t>();
  if (number < least || number > most) out_of_range(key, fmt::format("in [{}, {}]", least, most), *value);
  return number;
}

// A number in [least, most] (open at the bottom when least_open).
std::optional<float> number(const Json& body, const char* key, double least, double most, bool least_open = false) {
  const Json* value = field(body, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number()) wrong_type(key, "a number", *value);
  const double x = value->get<double>();
  if (!(least_open ? x > least : x >= least) || !(x <= most)) {
    out_of_range(key, fmt::format("in {}{}, {}]", least_open ? "(" : "[", least, most), *value);
  }
  return static_cast<float>(x);
}

std::string required_model(const Json& body) {
  const std::optional<std::string> model = string(body, "model");
  if (!model) throw bad_request("missing_required_parameter", "'model' is required", "model");
  return *model;
}

std::vector<int64_t> token_array(const Json& value, const std::string& field_name) {
  std::vector<int64_t> tokens;
  for (const Json& token : value) {
    if (!token.is_number_integer()) wrong_type(field_name, "an array of integers", token);
    if (token.is_number_unsigned() &&
        token.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
      out_of_range(field_name, "token ids in [0, 2^31)", token);
    }
    tokens.push_back(token.get<int64_t>());
  }
  return tokens;
}

EmbeddingInput embedding_input(const Json& item) {
  if (item.is_string()) return {item.get<std::string>(), {}, false};
  if (item.is_array()) {
    if (item.empty()) throw bad_request("invalid_value", "'input' holds an empty token array", "input");
    return {"", token_array(item, "input"), true};
  }
  wrong_type("input", "a string, an array of strings or an array of token arrays", item);
}

void refuse_unsupported(const Json& body) {
  if (const std::optional<int64_t> n = integer(body, "n", 1, 128); n && *n != 1) {
    throw bad_request("unsupported_value", "'n' must be 1: attend returns one choice a request", "n");
  }
  if (boolean(body, "echo").value_or(false)) throw bad_request("unsupported_value", "'echo' is not supported", "echo");
  if (integer(body, "best_of", 1, 128).value_or(1) != 1) {
    throw bad_request("unsupported_value", "'best_of' must be 1", "best_of");
  }
  for (const char* key : {"suffix", "tools", "functions", "logit_bias"}) {
    const Json* value = field(body, key);
    if (value != nullptr && !(value->is_array() && value->empty()) && !(value->is_object() && value->empty())) {
      throw bad_request("unsupported_parameter", fmt::format("'{}' is not supported by attend", key), key);
    }
  }
  if (const Json* format = field(body, "response_format"); format != nullptr) {
    if (!format->is_object() || !is_string_equal(*format, "type", "text")) {
      throw bad_request("unsupported_value", "'response_format' must be {\"type\": \"text\"}", "response_format");
    }
  }
}

std::vector<std::string> stop_strings(const Json& body) {
  const Json* stop = field(body, "stop");
  if (stop == nullptr) return {};
  std::vector<std::string> stops;
  if (stop->is_string()) {
    stops.push_back(stop->get<std::string>());
  } else if (stop->is_array() && stop->size() <= 4) {
    for (const Json& s : *stop) {
      if (!s.is_string()) wrong_type("stop", "a string or an array of up to 4 strings", s);
      stops.push_back(s.get<std::string>());
    }
  } else {
    wrong_type("stop", "a string or an array of up to 4 strings", *stop);
  }
  for (const std::string& s : stops) {
    if (s.empty()) throw bad_request("invalid_value", "'stop' holds an empty string", "stop");
  }
  return stops;
}

// The fields chat and completions share: limits, sampling, stops, streaming.
void parse_generation_fields(const Json& body, CompletionRequest& request) {
  refuse_unsupported(body);
  request.model = required_model(body);
  std::optional<int64_t> max_tokens = integer(body, "max_completion_tokens", 1, std::numeric_limits<int32_t>::max());
  if (!max_tokens) max_tokens = integer(body, "max_tokens", 1, std::numeric_limits<int32_t>::max());
  request.max_tokens_given = max_tokens.has_value();
  request.options.max_tokens = max_tokens.value_or(request.chat ? 0 : 16);  // chat: the context's rest
  decoder::GenerationOptions& o = request.options;
  o.sampling.temperature = number(body, "temperature", 0, 2).value_or(1.0f);
  o.sampling.top_p = number(body, "top_p", 0, 1, true).value_or(1.0f);
  o.sampling.top_k = integer(body, "top_k", 0, std::numeric_limits<int32_t>::max()).value_or(0);
  o.sampling.min_p = number(body, "min_p", 0, 1).value_or(0.0f);
  o.sampling.repeat_penalty = number(body, "repetition_penalty", 0, 10, true).value_or(1.0f);
  o.sampling.frequency_penalty = number(body, "frequency_penalty", -2, 2).value_or(0.0f);
  o.sampling.presence_penalty = number(body, "presence_penalty", -2, 2).value_or(0.0f);
  if (const std::optional<int64_t> seed =
          integer(body, "seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max())) {
    o.sampling.seed = static_cast<uint64_t>(*seed);
    request.seed_given = true;
  }
  o.stops = stop_strings(body);
  o.ignore_end_of_turn = boolean(body, "ignore_eos").value_or(false);
  request.stream = boolean(body, "stream").value_or(false);
  if (const Json* options = field(body, "stream_options"); options != nullptr) {
    if (!options->is_object()) wrong_type("stream_options", "an object", *options);
    if (!request.stream) throw bad_request("invalid_value", "'stream_options' needs 'stream': true", "stream_options");
    request.include_usage = boolean(*options, "include_usage").value_or(false);
  }
}

decoder::ChatMessage chat_message(const Json& message, size_t index) {
  const std::string where = fmt::format("messages[{}]", index);
  if (!message.is_object()) wrong_type(where, "an object", message);
  const std::optional<std::string> role = string(message, "role");
  if (!role) throw bad_request("missing_required_parameter", fmt::format("'{}.role' is required", where), where);
  const Json* content = field(message, "content");
  if (content == nullptr)
    throw bad_request("missing_required_parameter", fmt::format("'{}.content' is required", where), where);
  std::string text;
  if (content->is_string()) {
    text = content->get<std::string>();
  } else if (content->is_array()) {  // parts: only text ones
    for (const Json& part : *content) {
      if (!part.is_object() || !is_string_equal(part, "type", "text") || !part.contains("text") ||
          !part["text"].is_string()) {
        throw bad_request("unsupported_value", fmt::format("'{}.content': only text parts are supported", where),
                          where);
      }
      text += part["text"].get<std::string>();
    }
  } else {
    wrong_type(where + ".content", "a string or an array of text parts", *content);
  }
  return {*role == "developer" ? "system" : *role, std::move(text)};
}

}  // namespace

std::optional<std::string> optional_string(const Json& body, const char* key) { return string(body, key); }

Json parse_json_body(std::string_view body) {
  Json json;
  try {
    json = Json::parse(body);
  } catch (const Json::exception& e) {
    throw bad_request("invalid_json", fmt::format("the body is not valid JSON: {}", e.what()));
  }
  if (!json.is_object())
    throw bad_request("invalid_type", fmt::format("the body must be a JSON object, got {}", io::json_kind(json)));
  return json;
}

EmbeddingRequest parse_embedding_request(const Json& body) {
  EmbeddingRequest request;
  request.model = required_model(body);
  const Json* input = field(body, "input");
  if (input == nullptr) throw bad_request("missing_required_parameter", "'input' is required", "input");
  if (input->is_array() && input->empty()) throw bad_request("invalid_value", "'input' is an empty list", "input");
  if (input->is_array() && !input->front().is_array() && !input->front().is_string()) {
    request.inputs.push_back(embedding_input(*input));  // one token array
  } else if (input->is_array()) {
    for (const Json& item : *input) request.inputs.push_back(embedding_input(item));
  } else {
    request.inputs.push_back(embedding_input(*input));
  }
  const std::string format = string(body, "encoding_format").value_or("float");
  if (format != "float" && format != "base64") {
    out_of_range("encoding_format", "\"float\" or \"base64\"", body["encoding_format"]);
  }
  request.base64 = format == "base64";
  if (field(body, "dimensions") != nullptr) {
    throw bad_request("unsupported_parameter", "'dimensions' is not supported: the model's size is fixed",
                      "dimensions");
  }
  return request;
}

CompletionRequest parse_chat_request(const Json& body) {
  CompletionRequest request;
  request.chat = true;
  parse_generation_fields(body, request);
  const Json* messages = field(body, "messages");
  if (messages == nullptr) throw bad_request("missing_required_parameter", "'messages' is required", "messages");
  if (!messages->is_array()) wrong_type("messages", "an array", *messages);
  if (messages->empty()) throw bad_request("invalid_value", "'messages' is an empty list", "messages");
  for (size_t i = 0; i < messages->size(); ++i) request.messages.push_back(chat_message((*messages)[i], i));
  request.options.sampling.want_logprobs = boolean(body, "logprobs").value_or(false);
  request.options.top_logprobs = integer(body, "top_logprobs", 0, 20).value_or(0);
  if (request.options.top_logprobs > 0 && !request.options.sampling.want_logprobs) {
    throw bad_request("invalid_value", "'top_logprobs' needs 'logprobs': true", "top_logprobs");
  }
  return request;
}

CompletionRequest parse_completion_request(const Json& body) {
  CompletionRequest request;
  parse_generation_fields(body, request);
  const Json* prompt = field(body, "prompt");
  if (prompt == nullptr) throw bad_request("missing_required_parameter", "'prompt' is required", "prompt");
  if (prompt->is_string()) {
    request.prompt = prompt->get<std::string>();
  } else if (prompt->is_array() && prompt->size() == 1 && prompt->front().is_string()) {
    request.prompt = prompt->front().get<std::string>();
  } else if (prompt->is_array() && !prompt->empty() && prompt->front().is_number()) {
    for (const int64_t id : token_array(*prompt, "prompt")) request.prompt_tokens.push_back(static_cast<int32_t>(id));
    request.prompt_is_tokens = true;
  } else {
    wrong_type("prompt", "a string, an array of one string, or an array of token ids", *prompt);
  }
  if (const std::optional<int64_t> alternatives = integer(body, "logprobs", 0, 5)) {
    request.options.sampling.want_logprobs = true;
    request.options.top_logprobs = *alternatives;
  }
  return request;
}

}  // namespace attend::serve
