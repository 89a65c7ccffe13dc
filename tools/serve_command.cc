// `attend serve`: the OpenAI-compatible HTTP server (serve/service.h) on cpp-httplib.
//
// The HTTP library reads requests (bounded: body size, read timeout) on a pool of
// max_concurrent + 8 threads, so that requests past the limit still get their 429; the
// Service answers them. SIGTERM or SIGINT: stop accepting, let the requests in flight finish
// (streams included), stop the model workers, exit 0.
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

#include "attend/core/error.h"
#include "attend/core/memory.h"
#include "attend/core/parallel.h"
#include "attend/serve/api_error.h"
#include "attend/serve/service.h"
#include "commands.h"
#include "decoder_model_flags.h"
#include "encoder_model_flags.h"

namespace attend::tools {
namespace {

struct ServeArguments {
  EncoderModelFlags embedding{text::default_minilm_directory()};
  DecoderModelFlags chat;
  std::string embedding_id, chat_id;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;
  int64_t max_batch_tokens = 8192;
  double batch_wait_ms = 2;
  int64_t max_concurrent = 64;
  int64_t max_sequences = 16;
  int64_t max_body_bytes = 4 << 20;
  int64_t request_timeout = 300;
  int64_t read_timeout = 10;
  int threads = 0;
};

// The id a model is served under: the shipped ones' Hugging Face names, else the file's or
// directory's name.
std::string model_id(const std::string& given, const std::string& path, const std::string& shipped_path,
                     const std::string& shipped_id) {
  if (!given.empty()) return given;
  if (path == shipped_path) return shipped_id;
  const std::filesystem::path p(path);
  return p.extension() == ".gguf" ? p.stem().string() : p.filename().string();
}

serve::ServiceOptions service_options(const ServeArguments& args) {
  serve::ServiceOptions options;
  options.embedding_model_id =
      model_id(args.embedding_id, args.embedding.model, text::default_minilm_directory(), "all-MiniLM-L6-v2");
  options.chat_model_id =
      model_id(args.chat_id, args.chat.model, decoder::default_model_path(), "SmolLM2-135M-Instruct");
  options.api_key = args.api_key;
  options.max_concurrent = args.max_concurrent;
  options.request_timeout = std::chrono::seconds(args.request_timeout);
  options.batching.max_batch_tokens = args.max_batch_tokens;
  options.batching.max_wait = std::chrono::microseconds(static_cast<int64_t>(args.batch_wait_ms * 1000));
  options.generation.max_sequences = args.max_sequences;
  return options;
}

void check_arguments(const ServeArguments& args) {
  ATTEND_CHECK(args.port >= 0 && args.port <= 65535, ValueError, "--port must be in [0, 65535], got {}", args.port);
  ATTEND_CHECK(args.max_batch_tokens >= 1, ValueError, "--max-batch-tokens must be at least 1, got {}",
               args.max_batch_tokens);
  ATTEND_CHECK(args.batch_wait_ms >= 0 && args.batch_wait_ms <= 1000, ValueError,
               "--batch-wait-ms must be in [0, 1000], got {}", args.batch_wait_ms);
  ATTEND_CHECK(args.max_concurrent >= 1 && args.max_concurrent <= 4096, ValueError,
               "--max-concurrent must be in [1, 4096], got {}", args.max_concurrent);
  ATTEND_CHECK(args.max_sequences >= 1, ValueError, "--max-sequences must be at least 1, got {}", args.max_sequences);
  ATTEND_CHECK(args.max_body_bytes >= 1024, ValueError, "--max-body-bytes must be at least 1024, got {}",
               args.max_body_bytes);
  ATTEND_CHECK(args.request_timeout >= 1, ValueError, "--request-timeout must be at least 1 s, got {}",
               args.request_timeout);
  ATTEND_CHECK(args.read_timeout >= 1, ValueError, "--read-timeout must be at least 1 s, got {}", args.read_timeout);
  ATTEND_CHECK(args.embedding.model != "none" || args.chat.model != "none", ValueError,
               "nothing to serve: --embedding-model none and --chat-model none");
}

std::string http_refusal(int status) {
  switch (status) {
    case 400:
      return "the request is not valid HTTP";
    case 413:
      return "the request body is larger than the server's --max-body-bytes";
    case 414:
      return "the request line is too long";
    default:
      return fmt::format("HTTP status {}", status);
  }
}

// cpp-httplib 0.11 listens with a backlog of 5 connections (compiled into Debian's library): a
// burst of clients connecting at once (32 after a batch answered them all) overflows it. Listening
// again on the bound socket raises the backlog to the system's limit (Linux: net.core.somaxconn).
class HttpServer : public httplib::Server {
 public:
  void raise_backlog() {
    if (svr_sock_ != INVALID_SOCKET) ::listen(svr_sock_, SOMAXCONN);
  }
};

// Every route goes to the Service; what it answers becomes the response (a stream: chunked).
void route(httplib::Server& server, serve::Service& service) {
  const auto handler = [&service](const httplib::Request& request, httplib::Response& response) {
    serve::HttpReply reply =
        service.handle({request.method, request.path, request.get_header_value("Authorization"), request.body});
    response.status = reply.status;
    if (!reply.stream) {
      response.set_content(reply.body, reply.content_type);
      return;
    }
    response.set_header("Cache-Control", "no-cache");
    auto stream = std::make_shared<std::function<void(const serve::ChunkWriter&)>>(std::move(reply.stream));
    response.set_chunked_content_provider(reply.content_type, [stream](size_t, httplib::DataSink& sink) {
      (*stream)([&sink](const std::string& chunk) { return sink.write(chunk.data(), chunk.size()); });
      sink.done();
      return true;
    });
  };
  server.Get(".*", handler);
  server.Post(".*", handler);
  server.Put(".*", handler);
  server.Delete(".*", handler);
  server.Patch(".*", handler);
  // What the HTTP layer refuses itself (413 body too large, 400 bad request line, ...): an error body.
  server.set_error_handler([](const httplib::Request&, httplib::Response& response) {
    if (response.body.empty()) {
      response.set_content(serve::error_body(response.status, http_refusal(response.status)), "application/json");
    }
  });
  server.set_exception_handler([](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
    response.status = 500;
    response.set_content(serve::error_body(500, "internal error"), "application/json");
  });
}

// Waits for SIGTERM or SIGINT (blocked in every thread: they are handled here), then stops the server.
std::thread signal_watcher(httplib::Server& server, std::atomic<bool>& finished) {
  return std::thread([&server, &finished] {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    const timespec interval{0, 200'000'000};
    while (!finished.load()) {
      if (sigtimedwait(&signals, nullptr, &interval) > 0) {
        std::cerr << "attend serve: stopping: no new connections; finishing the requests in flight" << std::endl;
        server.stop();
        return;
      }
    }
  });
}

void block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that left is seen as a failed write
}

std::unique_ptr<serve::Service> load_service(const ServeArguments& args) {
  std::unique_ptr<models::SentenceEncoder> encoder;
  std::unique_ptr<decoder::LlamaModel> chat;
  if (args.embedding.model != "none") {
    encoder = std::make_unique<models::SentenceEncoder>(load_sentence_encoder(args.embedding));
  }
  if (args.chat.model != "none") chat = std::make_unique<decoder::LlamaModel>(load_decoder_model(args.chat));
  return std::make_unique<serve::Service>(service_options(args), std::move(encoder), std::move(chat));
}

int run_serve(const ServeArguments& args) {
  check_arguments(args);
  block_stop_signals();  // before any thread starts: they all inherit the mask
  if (args.threads > 0) set_num_threads(args.threads);
  keep_freed_memory_for_reuse();
  std::unique_ptr<serve::Service> service = load_service(args);
  HttpServer server;
  const size_t pool = static_cast<size_t>(args.max_concurrent) + 8;
  server.new_task_queue = [pool] { return new httplib::ThreadPool(pool); };
  server.set_payload_max_length(static_cast<size_t>(args.max_body_bytes));
  server.set_read_timeout(args.read_timeout, 0);
  server.set_write_timeout(args.read_timeout, 0);
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(100000);  // a client keeps its connection (the default closes it every 5 requests)
  route(server, *service);
  const int port = args.port == 0 ? server.bind_to_any_port(args.host) : args.port;
  ATTEND_CHECK(port > 0 && (args.port == 0 || server.bind_to_port(args.host, args.port)), ValueError,
               "cannot listen on {}:{} (in use, or not an address of this machine)", args.host, args.port);
  server.raise_backlog();
  std::cerr << fmt::format("attend serve: listening on http://{}:{} (embeddings: {}, chat: {}; {} threads)", args.host,
                           port, args.embedding.model == "none" ? "none" : service->options().embedding_model_id,
                           args.chat.model == "none" ? "none" : service->options().chat_model_id, num_threads())
            << std::endl;
  std::atomic<bool> finished{false};
  std::thread watcher = signal_watcher(server, finished);
  const bool listened = server.listen_after_bind();
  finished = true;
  watcher.join();
  service.reset();  // the workers finish what was queued
  std::cerr << "attend serve: stopped" << std::endl;
  return listened ? 0 : 1;
}

}  // namespace

CommandRunner add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArguments>();
  CLI::App* command = app.add_subcommand(
      "serve", "an OpenAI-compatible HTTP server: /v1/embeddings, /v1/chat/completions, /v1/completions, ...");
  command->add_option("--embedding-model", args->embedding.model, "a sentence-transformers directory, or none")
      ->capture_default_str();
  command->add_option("--embedding-weights", args->embedding.weights, "float32, q8_0, q4_0 or q4_1")
      ->check(CLI::IsMember({"float32", "q8_0", "q4_0", "q4_1"}))
      ->capture_default_str();
  command->add_option("--chat-model", args->chat.model, "a GGUF file of a llama-architecture model, or none")
      ->capture_default_str();
  command->add_option("--chat-weights", args->chat.weights, "stored or float32")
      ->check(CLI::IsMember({"stored", "float32"}))
      ->capture_default_str();
  command->add_option("--embedding-model-id", args->embedding_id,
                      "the name clients use (default: all-MiniLM-L6-v2 "
                      "for the shipped model, else the directory's name)");
  command->add_option("--chat-model-id", args->chat_id,
                      "the name clients use (default: SmolLM2-135M-Instruct for "
                      "the shipped model, else the file's name without .gguf)");
  command->add_option("--host", args->host, "the address to listen on")->capture_default_str();
  command->add_option("--port", args->port, "the port (0: any free one, printed)")->capture_default_str();
  command->add_option("--api-key", args->api_key, "require 'Authorization: Bearer KEY' (default: none)");
  command->add_option("--max-batch-tokens", args->max_batch_tokens, "tokens per embedding forward pass")
      ->capture_default_str();
  command
      ->add_option("--batch-wait-ms", args->batch_wait_ms,
                   "how long an embedding batch waits for more requests once one came")
      ->capture_default_str();
  command->add_option("--max-concurrent", args->max_concurrent, "requests in flight; more get 429")
      ->capture_default_str();
  command->add_option("--max-sequences", args->max_sequences, "sequences generated at once; more wait their turn")
      ->capture_default_str();
  command->add_option("--max-body-bytes", args->max_body_bytes, "the largest request body; larger get 413")
      ->capture_default_str();
  command->add_option("--request-timeout", args->request_timeout, "seconds a request may take; longer get 408")
      ->capture_default_str();
  command->add_option("--read-timeout", args->read_timeout, "seconds a client may stall while sending")
      ->capture_default_str();
  command->add_option("--threads", args->threads, "compute threads (default: as attend --threads)");
  return [command, args] { return command->parsed() ? run_serve(*args) : -1; };
}

}  // namespace attend::tools
