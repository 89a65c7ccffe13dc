// The one way attend runs work on several threads.
//
// parallel_for splits [0, n) statically into contiguous chunks, at most one per thread. Callers
// keep results independent of the thread count by computing each output element in exactly one
// call, in an order fixed by the element's index (never by a reduction across chunks).
//
// Thread count: ATTEND_NUM_THREADS when set, else the number of cores; set_num_threads() at
// run time. BLAS (single-threaded BLIS) is called from inside parallel_for bodies on a fixed grid
// of tiles, so there is one pool of threads and results do not depend on its size.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace attend {

int num_threads();
// n in [1, 1024]; ValueError otherwise, and inside a parallel_for body. Callable from any
// thread: it waits for a parallel_for running on another thread to finish.
void set_num_threads(int n);

// Calls fn(begin, end) on contiguous chunks covering [0, n), each of at least `grain` items
// (except when n < grain). Nested calls run serially on the calling thread. The first exception
// thrown by any chunk is rethrown to the caller after all chunks finish.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// Items of unequal cost: fn(begin, end) on contiguous chunks of [0, n), at most one per thread,
// cut where the cost of the items before crosses an equal share. cost_before has n + 1
// non-decreasing entries: cost_before[i] is the cost of items 0 .. i - 1. As for parallel_for,
// the cut decides only who computes an item, never what it computes.
void parallel_for_balanced(std::span<const int64_t> cost_before, const std::function<void(int64_t, int64_t)>& fn);

// The chunk bounds parallel_for_balanced cuts on `chunks` threads (chunks + 1 entries, 0 .. n):
// chunk c is [bounds[c], bounds[c + 1]), the first item whose cost_before reaches c / chunks of
// the total begins it.
std::vector<int64_t> balanced_bounds(std::span<const int64_t> cost_before, int chunks);

// True inside a parallel_for body (on any thread).
bool in_parallel_region();

// Sets the thread count for the guard's lifetime (tests of thread-count independence).
class ThreadCountGuard {
 public:
  explicit ThreadCountGuard(int n) : previous_(num_threads()) { set_num_threads(n); }
  ~ThreadCountGuard() { set_num_threads(previous_); }
  ThreadCountGuard(const ThreadCountGuard&) = delete;
  ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

 private:
  int previous_;
};

}  // namespace attend
