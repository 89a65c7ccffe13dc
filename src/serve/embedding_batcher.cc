#include "attend/serve/embedding_batcher.h"

#include <algorithm>

#include "attend/core/error.h"

namespace attend::serve {
namespace {

int64_t token_count(const std::vector<text::Encoding>& encodings, size_t begin = 0) {
  int64_t tokens = 0;
  for (size_t i = begin; i < encodings.size(); ++i) tokens += static_cast<int64_t>(encodings[i].ids.size());
  return tokens;
}

}  // namespace

EmbeddingBatcher::EmbeddingBatcher(models::SentenceEncoder& encoder, std::mutex& compute, Metrics& metrics,
                                   EmbeddingBatcherOptions options)
    : encoder_(encoder), compute_(compute), metrics_(metrics), options_(options) {
  ATTEND_CHECK(options.max_batch_tokens >= encoder.config().max_length, ValueError,
               "max_batch_tokens ({}) must hold the model's longest input ({} tokens)", options.max_batch_tokens,
               encoder.config().max_length);
  worker_ = std::thread([this] { run(); });
}

EmbeddingBatcher::~EmbeddingBatcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

std::future<std::vector<float>> EmbeddingBatcher::submit(std::vector<text::Encoding> encodings) {
  auto job = std::make_shared<Job>();
  job->vectors.resize(encodings.size() * static_cast<size_t>(encoder_.dimension()));
  job->encodings = std::move(encodings);
  std::future<std::vector<float>> future = job->promise.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ATTEND_CHECK(!stopping_, ValueError, "the server is shutting down");
    queued_tokens_ += token_count(job->encodings);
    queue_.push_back(std::move(job));
    metrics_.set("attend_queue_depth", static_cast<double>(queue_.size()), "queue=\"embeddings\"");
  }
  wake_.notify_all();
  return future;
}

// Waits for a batch to fill (or max_wait), then takes encodings from the front up to the limit.
std::vector<EmbeddingBatcher::Slice> EmbeddingBatcher::take_batch(std::unique_lock<std::mutex>& lock) {
  const auto deadline = std::chrono::steady_clock::now() + options_.max_wait;
  wake_.wait_until(lock, deadline, [&] { return stopping_ || queued_tokens_ >= options_.max_batch_tokens; });
  std::vector<Slice> batch;
  int64_t tokens = 0;
  while (!queue_.empty()) {
    const std::shared_ptr<Job>& job = queue_.front();
    if (job->failed) {  // an earlier part of it failed: the rest is not run
      queued_tokens_ -= token_count(job->encodings, job->next);
      queue_.pop_front();
      continue;
    }
    size_t end = job->next;
    while (end < job->encodings.size() &&
           tokens + static_cast<int64_t>(job->encodings[end].ids.size()) <= options_.max_batch_tokens) {
      tokens += static_cast<int64_t>(job->encodings[end].ids.size());
      ++end;
    }
    if (end > job->next) batch.push_back({job, job->next, end});
    queued_tokens_ -= token_count(job->encodings, job->next) - token_count(job->encodings, end);
    job->next = end;
    if (end < job->encodings.size()) break;  // the batch is full
    queue_.pop_front();
  }
  metrics_.set("attend_queue_depth", static_cast<double>(queue_.size()), "queue=\"embeddings\"");
  return batch;
}

void EmbeddingBatcher::compute_batch(const std::vector<Slice>& batch) {
  std::vector<text::Encoding> encodings;
  for (const Slice& s : batch) {
    encodings.insert(encodings.end(), s.job->encodings.begin() + s.begin, s.job->encodings.begin() + s.end);
  }
  std::vector<float> vectors;  // (inputs, E)
  std::exception_ptr error;
  try {
    std::lock_guard<std::mutex> lock(compute_);
    vectors = encoder_.embed_encodings(encodings).to_vector();
  } catch (...) {
    error = std::current_exception();
  }
  metrics_.observe("attend_embedding_batch_inputs", static_cast<double>(encodings.size()));
  metrics_.add("attend_embedding_tokens_total", static_cast<double>(token_count(encodings)));
  const size_t dim = static_cast<size_t>(encoder_.dimension());
  size_t row = 0;
  for (const Slice& s : batch) {
    Job& job = *s.job;
    if (!error) std::copy_n(vectors.begin() + row * dim, (s.end - s.begin) * dim, job.vectors.begin() + s.begin * dim);
    row += s.end - s.begin;
    job.done += s.end - s.begin;
    if (error) {
      if (!job.failed) job.promise.set_exception(error);
      job.failed = true;
    } else if (job.done == job.encodings.size()) {
      job.promise.set_value(std::move(job.vectors));
    }
  }
}

void EmbeddingBatcher::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left
    const std::vector<Slice> batch = take_batch(lock);
    lock.unlock();
    compute_batch(batch);
    lock.lock();
  }
}

}  // namespace attend::serve
