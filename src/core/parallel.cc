#include "attend/core/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "attend/core/error.h"
#include "core/parallel_testing.h"

namespace attend {
namespace {

thread_local bool tls_in_parallel = false;

int default_thread_count() {
  if (const char* env = std::getenv("ATTEND_NUM_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long value = std::strtol(env, &end, 10);
    if (*end == '\0' && value >= 1 && value <= 1024) return static_cast<int>(value);
    fail("ATTEND_NUM_THREADS must be an integer in [1, 1024], got '{}'", env);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

// Spins for up to kSpinTime until ready() holds, pausing the core between checks; returns
// ready(). Training runs thousands of short parallel_for calls per step, and a worker woken
// from a condition variable takes tens of microseconds to start: a short spin first catches the
// next job (or the last chunk's end) without a sleep and a wake-up.
template <typename Ready>
bool spin_until(const Ready& ready) {
  constexpr auto kSpinTime = std::chrono::microseconds(100);
  const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (int i = 1;; ++i) {
    if (ready()) return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if (i % 64 == 0) {
      if (std::chrono::steady_clock::now() > deadline) return ready();
      // On an oversubscribed machine the thread being waited for may need this core.
      std::this_thread::yield();
    }
  }
}

// A fixed set of workers that run one job at a time: chunk i of the job goes to worker i - 1,
// chunk 0 to the caller. Between jobs a worker spins briefly (spin_until), then sleeps on a
// condition variable. Which chunk runs where depends on timing only when the pool shrank under a
// job (its extra chunks then run on the caller); what a chunk computes never does.
class ThreadPool {
 public:
  explicit ThreadPool(int threads) { resize(threads); }
  ~ThreadPool() { stop_workers(); }

  int size() const { return threads_.load(std::memory_order_relaxed); }

  // Safe beside run() on other threads: it waits for the running job to finish.
  void resize(int threads) {
    std::lock_guard<std::mutex> serialize(run_mutex_);
    stop_workers();
    threads_.store(threads, std::memory_order_relaxed);
    stopping_ = false;
    // New workers start from the current job: earlier jobs are not theirs.
    const uint64_t now = job_state_.load();
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i, now] { worker_loop(i, now); });
  }

  // Runs chunk(i) for i in [0, chunks). Chunks beyond size() (the pool shrank after the caller
  // chose `chunks`) run on the caller after chunk 0, so every chunk runs exactly once whatever
  // the timing.
  void run(int chunks, const std::function<void(int)>& chunk) {
    std::unique_lock<std::mutex> serialize(run_mutex_);
    const int total_chunks = chunks;
    chunks = std::min(chunks, size());
    job_ = &chunk;
    error_ = nullptr;
    pending_.store(chunks - 1, std::memory_order_relaxed);
    // Publishes the job to spinning workers: the next generation and the chunk count, together.
    const uint64_t generation = (job_state_.load(std::memory_order_relaxed) >> kChunkBits) + 1;
    job_state_.store(generation << kChunkBits | static_cast<uint64_t>(chunks), std::memory_order_release);
    {
      // Taking the mutex orders this wake-up after any worker's check of the generation, so a
      // worker about to sleep either sees the new job or gets the notification.
      std::lock_guard<std::mutex> lock(mutex_);
    }
    wake_.notify_all();
    run_chunk(0);
    for (int index = chunks; index < total_chunks; ++index) run_chunk(index);
    const auto finished = [this] { return pending_.load(std::memory_order_acquire) == 0; };
    if (!spin_until(finished)) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, finished);
    }
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void run_chunk(int index) {
    tls_in_parallel = true;
    try {
      (*job_)(index);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    tls_in_parallel = false;
  }

  void worker_loop(int index, uint64_t seen) {
    for (;;) {
      const auto new_job = [&] {
        return stopping_.load(std::memory_order_acquire) || job_state_.load(std::memory_order_acquire) != seen;
      };
      if (!spin_until(new_job)) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, new_job);
      }
      if (stopping_.load(std::memory_order_acquire)) return;
      seen = job_state_.load(std::memory_order_acquire);
      if (index >= static_cast<int>(seen & kChunkMask)) continue;
      run_chunk(index);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);  // as in run(): no lost wake-up
        done_.notify_one();
      }
    }
  }

  void stop_workers() {
    stopping_.store(true, std::memory_order_release);
    { std::lock_guard<std::mutex> lock(mutex_); }
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
  }

  std::atomic<int> threads_{1};  // written under run_mutex_, read anywhere
  std::vector<std::thread> workers_;
  std::mutex run_mutex_;  // one job at a time; resize() waits for it
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  // Written by run() before it publishes the job in job_state_ (release), read by workers after
  // they see it (acquire). A worker needed by a job holds it up, so job_ cannot change under it.
  const std::function<void(int)>* job_ = nullptr;
  // generation << kChunkBits | chunks: one word, so a worker never pairs one job's generation
  // with another's chunk count.
  static constexpr int kChunkBits = 16;  // chunks <= size() <= 1024
  static constexpr uint64_t kChunkMask = (uint64_t{1} << kChunkBits) - 1;
  std::atomic<uint64_t> job_state_{0};
  std::exception_ptr error_;  // under mutex_
  std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
};

ThreadPool& pool() {
  static ThreadPool instance([] { return default_thread_count(); }());
  return instance;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) {
  ATTEND_CHECK(n >= 1 && n <= 1024, ValueError, "set_num_threads: n must be in [1, 1024], got {}", n);
  ATTEND_CHECK(!tls_in_parallel, ValueError, "set_num_threads: cannot be called inside parallel_for");
  if (n != pool().size()) pool().resize(n);
}

bool in_parallel_region() { return tls_in_parallel; }

namespace detail {

std::atomic<int64_t> forced_grain{0};
std::atomic<int64_t> split_calls{0};

GrainOverrideGuard::GrainOverrideGuard(int64_t grain) : previous_(forced_grain.exchange(grain)) {}
GrainOverrideGuard::~GrainOverrideGuard() { forced_grain.store(previous_); }

int64_t parallel_split_count() { return split_calls.load(); }

}  // namespace detail

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (const int64_t forced = detail::forced_grain.load(std::memory_order_relaxed); forced > 0) grain = forced;
  grain = std::max<int64_t>(grain, 1);
  const int64_t max_chunks = std::max<int64_t>(1, n / grain);
  const int chunks = static_cast<int>(std::min<int64_t>(num_threads(), max_chunks));
  if (chunks == 1 || tls_in_parallel) {
    fn(0, n);
    return;
  }
  detail::split_calls.fetch_add(1, std::memory_order_relaxed);
  pool().run(chunks, [&](int chunk) {
    const int64_t begin = n * chunk / chunks;
    const int64_t end = n * (chunk + 1) / chunks;
    if (begin < end) fn(begin, end);
  });
}

std::vector<int64_t> balanced_bounds(std::span<const int64_t> cost_before, int chunks) {
  ATTEND_CHECK(!cost_before.empty() && chunks >= 1, ValueError,
               "balanced_bounds: needs n + 1 >= 1 costs and chunks >= 1, got {} and {}", cost_before.size(), chunks);
  const auto n = static_cast<int64_t>(cost_before.size()) - 1;
  const int64_t total = cost_before.back();
  std::vector<int64_t> bounds(static_cast<size_t>(chunks) + 1, n);
  bounds[0] = 0;
  for (int c = 1; c < chunks; ++c) {
    // share = floor(total * c / chunks), without forming total * c
    const int64_t share = total / chunks * c + total % chunks * c / chunks;
    const auto at = std::lower_bound(cost_before.begin(), cost_before.end(), share) - cost_before.begin();
    bounds[c] = std::clamp<int64_t>(at, bounds[c - 1], n);
  }
  return bounds;
}

void parallel_for_balanced(std::span<const int64_t> cost_before, const std::function<void(int64_t, int64_t)>& fn) {
  const auto n = static_cast<int64_t>(cost_before.size()) - 1;
  if (n <= 0) return;
  const int chunks = static_cast<int>(std::min<int64_t>(num_threads(), n));
  if (chunks == 1 || tls_in_parallel) {
    fn(0, n);
    return;
  }
  const std::vector<int64_t> bounds = balanced_bounds(cost_before, chunks);
  parallel_for(chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      if (bounds[c] < bounds[c + 1]) fn(bounds[c], bounds[c + 1]);
    }
  });
}

}  // namespace attend
