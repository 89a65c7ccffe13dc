#include "attend/serve/generation_scheduler.h"

#include <algorithm>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/core/parallel.h"

namespace attend::serve {

std::optional<GenerationEvent> GenerationStream::wait_next(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!ready_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return std::nullopt;
  GenerationEvent event = std::move(events_.front());
  events_.pop_front();
  return event;
}

void GenerationStream::cancel() {
  std::lock_guard<std::mutex> lock(mutex_);
  cancelled_ = true;
}

bool GenerationStream::cancelled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cancelled_;
}

void GenerationStream::push(GenerationEvent event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(std::move(event));
  }
  ready_.notify_all();
}

struct GenerationScheduler::Request {
  std::vector<int32_t> prompt;
  decoder::GenerationOptions options;
  Clock::time_point deadline;
  std::shared_ptr<GenerationStream> stream;
};

struct GenerationScheduler::Active {
  std::shared_ptr<GenerationStream> stream;
  Clock::time_point deadline;
  decoder::KvCache cache;
  decoder::SequenceGeneration sequence;

  Active(const decoder::LlamaModel& model, const bpe::BpeTokenizer& tokenizer, Request& request)
      : stream(request.stream),
        deadline(request.deadline),
        cache(model.new_cache(
            std::min<int64_t>(model.config().context_length, static_cast<int64_t>(request.prompt.size()) + 64))),
        sequence(model.config(), tokenizer, cache, request.prompt, request.options) {}
};

GenerationScheduler::GenerationScheduler(const decoder::LlamaModel& model, const bpe::BpeTokenizer& tokenizer,
                                         std::mutex& compute, Metrics& metrics, GenerationSchedulerOptions options)
    : model_(model), tokenizer_(tokenizer), compute_(compute), metrics_(metrics), options_(options) {
  ATTEND_CHECK(options.max_sequences >= 1, ValueError, "max_sequences must be at least 1, got {}",
               options.max_sequences);
  worker_ = std::thread([this] { run(); });
}

GenerationScheduler::~GenerationScheduler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

std::shared_ptr<GenerationStream> GenerationScheduler::submit(std::vector<int32_t> prompt,
                                                              const decoder::GenerationOptions& options,
                                                              Clock::time_point deadline) {
  decoder::KvCache probe = model_.new_cache(1);
  decoder::SequenceGeneration check(model_.config(), tokenizer_, probe, prompt, options);  // throws on a bad request
  auto request =
      std::make_unique<Request>(Request{std::move(prompt), options, deadline, std::make_shared<GenerationStream>()});
  std::shared_ptr<GenerationStream> stream = request->stream;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ATTEND_CHECK(!stopping_, ValueError, "the server is shutting down");
    waiting_.push_back(std::move(request));
    metrics_.set("attend_queue_depth", static_cast<double>(waiting_.size()), "queue=\"generation\"");
  }
  wake_.notify_all();
  return stream;
}

namespace {

// Drops the entries (waiting requests or active sequences) whose client left or whose deadline
// passed; the latter hear a 408 saying `when`.
template <typename Entries>
void drop_ended(Entries& entries, const char* when) {
  const Clock::time_point now = Clock::now();
  std::erase_if(entries, [&](const auto& entry) {
    if (entry->stream->cancelled()) return true;
    if (now < entry->deadline) return false;
    entry->stream->push(
        {GenerationEvent::Kind::error, {}, {}, 408, fmt::format("the request's time limit passed {}", when)});
    return true;
  });
}

}  // namespace

void GenerationScheduler::admit(std::vector<std::unique_ptr<Active>>& active) {
  drop_ended(waiting_, "while it waited");
  while (!waiting_.empty() && static_cast<int64_t>(active.size()) < options_.max_sequences) {
    std::unique_ptr<Request> request = std::move(waiting_.front());
    waiting_.pop_front();
    try {
      active.push_back(std::make_unique<Active>(model_, tokenizer_, *request));
    } catch (const std::exception& e) {  // submit() checked the request: out of memory, say
      request->stream->push({GenerationEvent::Kind::error, {}, {}, 500, e.what()});
    }
  }
  metrics_.set("attend_queue_depth", static_cast<double>(waiting_.size()), "queue=\"generation\"");
}

namespace {

// The events of one sequence after a forward call: its next token (and, when it finishes, the
// held-back text and `done`); an exception (a sampler refusing NaN logits) becomes an error.
std::vector<GenerationEvent> next_events(decoder::SequenceGeneration& sequence) {
  std::vector<GenerationEvent> events;
  try {
    while (sequence.model_input().empty()) {
      std::optional<decoder::GeneratedToken> token = sequence.next();
      if (!token) break;
      events.push_back({GenerationEvent::Kind::token, std::move(*token), {}, 0, ""});
    }
    if (sequence.finished()) events.push_back({GenerationEvent::Kind::done, {}, sequence.result(), 0, ""});
  } catch (const std::exception& e) {
    events.assign(1, {GenerationEvent::Kind::error, {}, {}, 500, e.what()});
  }
  return events;
}

}  // namespace

// One forward call for every sequence, then each one's next token (the sequences sample in
// parallel: each has its own sampler and decoder).
void GenerationScheduler::step(std::vector<std::unique_ptr<Active>>& active) {
  drop_ended(active, "while it ran");
  std::vector<decoder::SequenceGeneration*> sequences;
  int64_t prompt_tokens = 0;
  for (const auto& a : active) {
    sequences.push_back(&a->sequence);
    if (a->sequence.result().tokens.empty()) prompt_tokens += static_cast<int64_t>(a->sequence.model_input().size());
  }
  metrics_.set("attend_active_sequences", static_cast<double>(sequences.size()));
  if (sequences.empty()) return;
  std::vector<std::vector<GenerationEvent>> events(sequences.size());
  try {
    std::lock_guard<std::mutex> lock(compute_);
    decoder::run_model_inputs(model_, sequences);
    parallel_for(static_cast<int64_t>(sequences.size()), 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) events[i] = next_events(*sequences[i]);
    });
  } catch (const std::exception& e) {  // nothing a request can cause (submit checked it): fail them all
    for (const auto& a : active) a->stream->push({GenerationEvent::Kind::error, {}, {}, 500, e.what()});
    active.clear();
    return;
  }
  metrics_.observe("attend_decode_batch_sequences", static_cast<double>(sequences.size()));
  metrics_.add("attend_prompt_tokens_total", static_cast<double>(prompt_tokens));
  size_t i = 0;
  std::erase_if(active, [&](const std::unique_ptr<Active>& a) {
    bool ended = false;
    for (GenerationEvent& event : events[i]) {
      if (event.kind == GenerationEvent::Kind::token && event.token.id >= 0) {
        metrics_.add("attend_completion_tokens_total", 1);
      }
      ended = ended || event.kind != GenerationEvent::Kind::token;
      a->stream->push(std::move(event));
    }
    ++i;
    return ended;
  });
  metrics_.set("attend_active_sequences", static_cast<double>(active.size()));
}

void GenerationScheduler::run() {
  std::vector<std::unique_ptr<Active>> active;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !waiting_.empty() || !active.empty(); });
      if (stopping_ && waiting_.empty() && active.empty()) return;
      admit(active);
    }
    step(active);
  }
}

}  // namespace attend::serve
