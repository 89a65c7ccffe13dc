#include "attend/core/parallel.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>


#include "attend/core/error.h"

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

// A fixed set of workers that run one job at a time: chunk i of the job goes to worker i - 1,
// chunk 0 to the caller. Workers sleep on a condition variable between jobs.
class ThreadPool {
 public:
  explicit ThreadPool(int threads) { resize(threads); }
  ~ThreadPool() { stop_workers(); }

  int size() const { return threads_; }

  void resize(int threads) {
    stop_workers();
    threads_ = threads;
    stopping_ = false;
    // New workers start from the current generation: earlier jobs are not theirs.
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i, g = generation_] { worker_loop(i, g); });
  }

  // Runs chunk(i) for i in [0, chunks), chunks <= size().
  void run(int chunks, const std::function<void(int)>& chunk) {
    std::unique_lock<std::mutex> serialize(run_mutex_);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &chunk;
      job_chunks_ = chunks;
      pending_ = chunks - 1;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    run_chunk(0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
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
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        if (index >= job_chunks_) continue;
      }
      run_chunk(index);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
  }

  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex run_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int)>* job_ = nullptr;
  int job_chunks_ = 0;
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

ThreadPool& pool() {
  static ThreadPool instance([] {
    return default_thread_count();
  }());
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

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t max_chunks = std::max<int64_t>(1, n / grain);
  const int chunks = static_cast<int>(std::min<int64_t>(num_threads(), max_chunks));
  if (chunks == 1 || tls_in_parallel) {
    fn(0, n);
    return;
  }
  pool().run(chunks, [&](int chunk) {
    const int64_t begin = n * chunk / chunks;
    const int64_t end = n * (chunk + 1) / chunks;
    if (begin < end) fn(begin, end);
  });
}

}  // namespace attend
