#include "attend/serve/service.h"

#include <chrono>
#include <ctime>

#include <fmt/format.h>

#include "attend/bpe/gguf_vocabulary.h"
#include "attend/serve/api_error.h"
#include "serve/openai_requests.h"
#include "serve/openai_responses.h"

namespace attend::serve {
namespace {

HttpReply json_reply(const Json& body, int status = 200) { return {status, "application/json", dump(body), nullptr}; }

HttpReply error_reply(const ApiError& error) { return {error.status(), "application/json", error.body(), nullptr}; }

// Equal strings, in time that depends on their lengths only (no early exit on the first difference).
bool constant_time_equal(const std::string& a, const std::string& b) {
  unsigned char difference = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    difference |= static_cast<unsigned char>((i < a.size() ? a[i] : 0) ^ (i < b.size() ? b[i] : 0));
  }
  return difference == 0;
}

}  // namespace

Service::InFlight::InFlight(Service& service, std::string route) : service_(service), route_(std::move(route)) {
  service_.metrics_.set("attend_requests_in_flight", static_cast<double>(++service_.in_flight_));
}

Service::InFlight::~InFlight() {
  service_.metrics_.set("attend_requests_in_flight", static_cast<double>(--service_.in_flight_));
  service_.metrics_.record_request(route_, status_, std::chrono::duration<double>(Clock::now() - start_).count());
}

Service::Service(ServiceOptions options, std::unique_ptr<models::SentenceEncoder> encoder,
                 std::unique_ptr<decoder::LlamaModel> decoder)
    : options_(std::move(options)), encoder_(std::move(encoder)), decoder_(std::move(decoder)) {
  ATTEND_CHECK(options_.max_concurrent >= 1, ValueError, "--max-concurrent must be at least 1, got {}",
               options_.max_concurrent);
  ATTEND_CHECK(options_.request_timeout.count() >= 1, ValueError, "--request-timeout must be at least 1 second");
  started_ = static_cast<int64_t>(std::time(nullptr));
  if (encoder_) batcher_ = std::make_unique<EmbeddingBatcher>(*encoder_, compute_, metrics_, options_.batching);
  if (decoder_) {
    bpe_ = std::make_unique<bpe::BpeTokenizer>(bpe::load_bpe_vocabulary(decoder_->file()));
    try {
      chat_template_ = decoder::ChatTemplate::from_file(decoder_->file());
    } catch (const Error& e) {
      chat_template_error_ = e.what();  // completions still work; chat answers with this
    }
    scheduler_ = std::make_unique<GenerationScheduler>(*decoder_, *bpe_, compute_, metrics_, options_.generation);
  }
}

Service::~Service() {
  scheduler_.reset();  // finish what is in flight first
  batcher_.reset();
}

std::string Service::route_of(const std::string& path) {
  for (const char* route : {"/health", "/metrics", "/v1/models", "/v1/embeddings", "/v1/chat/completions",
                            "/v1/completions", "/tokenize", "/detokenize"}) {
    if (path == route) return route;
  }
  return "other";
}

bool Service::authorized(const std::string& authorization) const {
  if (options_.api_key.empty()) return true;
  return constant_time_equal(authorization, "Bearer " + options_.api_key);
}

HttpReply Service::handle(const HttpRequest& request) {
  const std::string route = route_of(request.path);
  if (route == "/health") return json_reply(Json{{"status", "ok"}});
  auto in_flight = std::make_shared<InFlight>(*this, route);
  HttpReply reply;
  try {
    if (!authorized(request.authorization)) {
      throw ApiError(401, "authentication_error", "invalid_api_key",
                     "a valid API key is required: send 'Authorization: Bearer KEY' with the server's --api-key");
    }
    if (route != "/metrics" && in_flight_.load() > options_.max_concurrent) {
      throw ApiError(
          429, "rate_limit_error", "too_many_requests",
          fmt::format("the server is answering its limit of {} requests; retry later", options_.max_concurrent));
    }
    reply = dispatch(route, request, in_flight);
  } catch (const ApiError& e) {
    reply = error_reply(e);
  } catch (const Json::exception& e) {  // a field of a type the handler did not check
    reply = error_reply(bad_request("invalid_type", e.what()));
  } catch (const Error& e) {  // a model's ValueError on a request that got past the checks
    reply = error_reply(bad_request("invalid_value", e.what()));
  } catch (const std::exception& e) {
    reply = error_reply(ApiError(500, "server_error", "internal_error", e.what()));
  }
  in_flight->set_status(reply.status);
  return reply;
}

HttpReply Service::dispatch(const std::string& route, const HttpRequest& request, std::shared_ptr<InFlight> in_flight) {
  const bool get = route == "/metrics" || route == "/v1/models";
  if (route == "other") {
    throw ApiError(404, "not_found_error", "unknown_url", fmt::format("no route {} {}", request.method, request.path));
  }
  if (request.method != (get ? "GET" : "POST")) {
    throw ApiError(405, "invalid_request_error", "method_not_allowed",
                   fmt::format("{} takes {}, not {}", route, get ? "GET" : "POST", request.method));
  }
  if (route == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", metrics_.render(), nullptr};
  if (route == "/v1/models") return models();
  if (route == "/v1/embeddings") return embeddings(request.body);
  if (route == "/v1/chat/completions") return completions(request.body, true, std::move(in_flight));
  if (route == "/v1/completions") return completions(request.body, false, std::move(in_flight));
  if (route == "/tokenize") return tokenize(request.body);
  return detokenize(request.body);
}

HttpReply Service::models() const {
  Json data = Json::array();
  for (const auto& [present, id] : {std::pair{encoder_ != nullptr, options_.embedding_model_id},
                                    std::pair{decoder_ != nullptr, options_.chat_model_id}}) {
    if (present) data.push_back(Json{{"id", id}, {"object", "model"}, {"created", started_}, {"owned_by", "attend"}});
  }
  return json_reply(Json{{"object", "list"}, {"data", data}});
}

namespace {

// The encodings of a request's inputs: texts tokenized, token arrays checked; 400 for an input
// longer than the model takes (never cut) or an id outside the vocabulary.
std::vector<text::Encoding> embedding_encodings(const models::SentenceEncoder& encoder,
                                                const EmbeddingRequest& request) {
  const int64_t max_length = encoder.config().max_length;
  const int64_t vocabulary = encoder.tokenizer().vocabulary().size();
  text::EncodeOptions options;
  options.max_length = max_length;  // longer: refused, never cut silently
  std::vector<text::Encoding> encodings;
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    const EmbeddingInput& input = request.inputs[i];
    text::Encoding encoding;
    if (input.is_tokens) {
      for (const int64_t id : input.tokens) {
        if (id < 0 || id >= vocabulary) {
          throw bad_request("invalid_value",
                            fmt::format("input[{}] holds token id {}, outside [0, {})", i, id, vocabulary), "input");
        }
      }
      encoding.ids = input.tokens;
      encoding.token_type_ids.assign(input.tokens.size(), 0);
      encoding.attention_mask.assign(input.tokens.size(), 1);
    } else {
      try {
        encoding = encoder.tokenizer().encode(input.text, options);
      } catch (const ValueError& e) {
        throw bad_request("context_length_exceeded", fmt::format("input[{}]: {}", i, e.what()), "input");
      }
    }
    if (static_cast<int64_t>(encoding.ids.size()) > max_length) {
      throw bad_request(
          "context_length_exceeded",
          fmt::format("input[{}] has {} tokens; the model takes at most {}", i, encoding.ids.size(), max_length),
          "input");
    }
    encodings.push_back(std::move(encoding));
  }
  return encodings;
}

}  // namespace

HttpReply Service::embeddings(const std::string& body) {
  const EmbeddingRequest request = parse_embedding_request(parse_json_body(body));
  if (!encoder_ || request.model != options_.embedding_model_id) throw model_not_found(request.model);
  std::vector<text::Encoding> encodings = embedding_encodings(*encoder_, request);
  int64_t tokens = 0;
  for (const text::Encoding& e : encodings) tokens += static_cast<int64_t>(e.ids.size());
  std::future<std::vector<float>> future = batcher_->submit(std::move(encodings));
  if (future.wait_for(options_.request_timeout) != std::future_status::ready) {
    throw ApiError(408, "timeout_error", "timeout", "the request's time limit passed");  // its rows are dropped later
  }
  const std::vector<float> vectors = future.get();
  return json_reply(embeddings_response(request.model, vectors, encoder_->dimension(), request.base64, tokens));
}

HttpReply Service::tokenize(const std::string& request_body) const {
  const Json body = parse_json_body(request_body);
  const std::string model =
      optional_string(body, "model").value_or(decoder_ ? options_.chat_model_id : options_.embedding_model_id);
  const std::optional<std::string> text = optional_string(body, "content");
  if (!text) throw bad_request("missing_required_parameter", "'content' is required", "content");
  Json tokens = Json::array();
  if (decoder_ && model == options_.chat_model_id) {
    for (const int32_t id : bpe_->encode(*text)) tokens.push_back(id);
  } else if (encoder_ && model == options_.embedding_model_id) {
    for (const int64_t id : encoder_->tokenizer().encode(*text).ids) tokens.push_back(id);
  } else {
    throw model_not_found(model);
  }
  return json_reply(Json{{"model", model}, {"tokens", tokens}});
}

HttpReply Service::detokenize(const std::string& request_body) const {
  const Json body = parse_json_body(request_body);
  const std::string model = optional_string(body, "model").value_or(options_.chat_model_id);
  if (!decoder_ || model != options_.chat_model_id) throw model_not_found(model);
  const auto tokens = body.find("tokens");
  if (tokens == body.end() || !tokens->is_array())
    throw bad_request("invalid_type", "'tokens' must be an array", "tokens");
  std::vector<int32_t> ids;
  for (const Json& id : *tokens) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= bpe_->vocabulary_size()) {
      throw bad_request("invalid_value",
                        fmt::format("'tokens' holds {}, not a token id in [0, {})", id.dump(), bpe_->vocabulary_size()),
                        "tokens");
    }
    ids.push_back(id.get<int32_t>());
  }
  return json_reply(Json{{"model", model}, {"content", bpe_->decode(ids)}});
}

}  // namespace attend::serve
