// Continuous batching of text generation: one worker thread advances every active sequence by
// one token per step, in one forward call of the decoder (decoder::run_model_inputs):
//
//   loop:
//     admit waiting requests while fewer than max_sequences are active (their prompts are
//       prefilled in the next call, beside the others' decode step)
//     drop the sequences whose client left (cancel) or whose deadline passed (an error event)
//     one forward call: each sequence's pending tokens (a prompt, or its latest token)
//     each sequence chooses its next token; its stream hears the token, and `done` when finished
//
// A sequence's tokens do not depend on which others share its steps (generation.h), so a
// request gets the same text under load as alone.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "attend/bpe/bpe_tokenizer.h"
#include "attend/decoder/generation.h"
#include "attend/decoder/llama_model.h"
#include "attend/serve/metrics.h"

namespace attend::serve {

using Clock = std::chrono::steady_clock;

struct GenerationEvent {
  enum class Kind { token, done, error };
  Kind kind = Kind::token;
  decoder::GeneratedToken token;     // token
  decoder::GenerationResult result;  // done
  int status = 0;                    // error: the HTTP status (408 timeout, 400 bad request, 500)
  std::string message;               // error
};

// What one request hears from the worker, in order: tokens, then done or error.
class GenerationStream {
 public:
  // The next event; nullopt when none came within `timeout`.
  std::optional<GenerationEvent> wait_next(std::chrono::milliseconds timeout);
  // The client left: the worker drops the sequence at its next step and frees its cache.
  void cancel();
  bool cancelled() const;
  void push(GenerationEvent event);

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<GenerationEvent> events_;
  bool cancelled_ = false;
};

struct GenerationSchedulerOptions {
  int64_t max_sequences = 16;  // sequences generated at once; more requests wait their turn
};

class GenerationScheduler {
 public:
  // `compute` is held during each forward call (shared with the embedding worker).
  GenerationScheduler(const decoder::LlamaModel& model, const bpe::BpeTokenizer& tokenizer, std::mutex& compute,
                      Metrics& metrics, GenerationSchedulerOptions options);
  // Finishes every admitted and waiting request, then stops the worker.
  ~GenerationScheduler();

  // Queues a generation (options checked as decoder::generate checks them: ValueError at once).
  std::shared_ptr<GenerationStream> submit(std::vector<int32_t> prompt, const decoder::GenerationOptions& options,
                                           Clock::time_point deadline);

 private:
  struct Request;
  struct Active;
  void run();
  void admit(std::vector<std::unique_ptr<Active>>& active);
  void step(std::vector<std::unique_ptr<Active>>& active);

  const decoder::LlamaModel& model_;
  const bpe::BpeTokenizer& tokenizer_;
  std::mutex& compute_;
  Metrics& metrics_;
  GenerationSchedulerOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Request>> waiting_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace attend::serve
