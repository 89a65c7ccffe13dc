// Embedding requests that arrive together, run as one variable-length batch.
//
// One worker thread owns the encoder. It sleeps until a request arrives, then waits at most
// max_wait for others (none when the batch is already full), takes requests from the front of the
// queue until their tokens would pass max_batch_tokens, runs them in one packed forward pass and
// hands each request its rows. A request larger than max_batch_tokens is split over several passes.
// A text's vector does not depend on its neighbours in the batch (SentenceEncoder), so a request
// gets the same bits alone or with others.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "attend/models/sentence_encoder.h"
#include "attend/serve/metrics.h"

namespace attend::serve {

struct EmbeddingBatcherOptions {
  int64_t max_batch_tokens = 8192;  // tokens per forward pass (at least the longest input)
  std::chrono::microseconds max_wait{2000};
};

class EmbeddingBatcher {
 public:
  // `compute` is held during each forward pass (the decoder's worker takes it too: one model
  // runs at a time on the machine's cores).
  EmbeddingBatcher(models::SentenceEncoder& encoder, std::mutex& compute, Metrics& metrics,
                   EmbeddingBatcherOptions options);
  // Finishes the queued requests, then stops the worker.
  ~EmbeddingBatcher();

  // The vectors (N, E) of `encodings`, row-major, when they are done. The future carries the
  // model's exception if it threw.
  std::future<std::vector<float>> submit(std::vector<text::Encoding> encodings);

 private:
  struct Job {
    std::vector<text::Encoding> encodings;
    std::vector<float> vectors;  // (N, E)
    size_t next = 0;             // the first encoding not yet taken into a batch
    size_t done = 0;
    bool failed = false;  // written and read by the worker only
    std::promise<std::vector<float>> promise;
  };
  struct Slice {
    std::shared_ptr<Job> job;
    size_t begin, end;
  };
  void run();
  std::vector<Slice> take_batch(std::unique_lock<std::mutex>& lock);
  void compute_batch(const std::vector<Slice>& batch);

  models::SentenceEncoder& encoder_;
  std::mutex& compute_;
  Metrics& metrics_;
  EmbeddingBatcherOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  int64_t queued_tokens_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace attend::serve
