// The OpenAI-compatible service behind `attend serve`, independent of the HTTP library: a
// request (method, path, bearer key, body) in, a reply (status, content type, body, or a
// stream of server-sent events) out. It owns the models, the embedding batcher and the
// generation scheduler, checks every request before it queues any work, and never throws:
// every failure is an ApiError body with its status.
//
//   GET  /health, /metrics (Prometheus), /v1/models
//   POST /v1/embeddings, /v1/chat/completions, /v1/completions, /tokenize, /detokenize
//
// Limits: max_concurrent requests in flight (beyond: 429), a deadline per request (408), the
// body size (the HTTP layer: 413), input tokens per request (the model's context: 400).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "attend/bpe/bpe_tokenizer.h"
#include "attend/decoder/chat_template.h"
#include "attend/decoder/llama_model.h"
#include "attend/models/sentence_encoder.h"
#include "attend/serve/embedding_batcher.h"
#include "attend/serve/generation_scheduler.h"
#include "attend/serve/metrics.h"

namespace attend::serve {

struct ServiceOptions {
  std::string embedding_model_id = "all-MiniLM-L6-v2";
  std::string chat_model_id = "SmolLM2-135M-Instruct";
  std::string api_key;          // empty: no key asked
  int64_t max_concurrent = 64;  // requests in flight (health and metrics not counted)
  std::chrono::seconds request_timeout{300};
  EmbeddingBatcherOptions batching;
  GenerationSchedulerOptions generation;
};

struct HttpRequest {
  std::string method, path, authorization, body;
};

// Writes one chunk to the client; false once the client is gone.
using ChunkWriter = std::function<bool(const std::string&)>;

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // When set, the body is this stream (text/event-stream): called once, returns when it ends.
  std::function<void(const ChunkWriter&)> stream;
};

class Service {
 public:
  // Either model may be null (its endpoints then answer 404 model_not_found). ValueError for bad options.
  Service(ServiceOptions options, std::unique_ptr<models::SentenceEncoder> encoder,
          std::unique_ptr<decoder::LlamaModel> decoder);
  ~Service();

  HttpReply handle(const HttpRequest& request);
  // The route label of a path for the metrics: a known route, or "other".
  static std::string route_of(const std::string& path);
  Metrics& metrics() { return metrics_; }
  const ServiceOptions& options() const { return options_; }

 private:
  // A request in flight: counted while it lives, recorded in the metrics when it ends (for a
  // stream, when the stream ends).
  class InFlight {
   public:
    InFlight(Service& service, std::string route);
    ~InFlight();
    void set_status(int status) { status_ = status; }

   private:
    Service& service_;
    std::string route_;
    int status_ = 200;
    Clock::time_point start_ = Clock::now();
  };
  HttpReply dispatch(const std::string& route, const HttpRequest& request, std::shared_ptr<InFlight> in_flight);
  HttpReply models() const;
  // Each parses its body (serve/openai_requests.h, private: the JSON library stays out of the
  // installed headers).
  HttpReply embeddings(const std::string& body);
  HttpReply completions(const std::string& body, bool chat, std::shared_ptr<InFlight> in_flight);
  HttpReply tokenize(const std::string& body) const;
  HttpReply detokenize(const std::string& body) const;
  bool authorized(const std::string& authorization) const;

  ServiceOptions options_;
  Metrics metrics_;
  std::mutex compute_;
  std::unique_ptr<models::SentenceEncoder> encoder_;
  std::unique_ptr<decoder::LlamaModel> decoder_;
  std::unique_ptr<bpe::BpeTokenizer> bpe_;
  std::optional<decoder::ChatTemplate> chat_template_;
  std::string chat_template_error_;
  std::unique_ptr<EmbeddingBatcher> batcher_;
  std::unique_ptr<GenerationScheduler> scheduler_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<uint64_t> next_id_{1};
  int64_t started_ = 0;  // unix seconds, the models' "created"
};

}  // namespace attend::serve
