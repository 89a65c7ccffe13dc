#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "attend/attend.h"

namespace attend {
namespace {

TEST(Parallel, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3}) {
    ThreadCountGuard guard(threads);
    for (int64_t n : {0, 1, 7, 1000, 100003}) {
      std::vector<int> hits(n, 0);
      parallel_for(n, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) ++hits[i];
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i], 1) << "n=" << n << " threads=" << threads;
    }
  }
}

// Many short jobs back to back, of 2 to 4 chunks on a pool of 4: workers not needed by one job
// race ahead to the next while spinning; every chunk must still run exactly once per job.
TEST(Parallel, ShortJobsBackToBackRunEveryChunkOnce) {
  ThreadCountGuard guard(4);
  std::vector<std::atomic<int>> hits(4);
  int64_t expected[4] = {0, 0, 0, 0};
  for (int job = 0; job < 6000; ++job) {
    const int64_t n = 2 + job % 3;  // grain 1: n chunks
    parallel_for(n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) hits[i].fetch_add(1, std::memory_order_relaxed);
    });
    for (int64_t i = 0; i < n; ++i) ++expected[i];
    if (job % 2000 == 1999) {
      for (int i = 0; i < 4; ++i) ASSERT_EQ(hits[i].load(), expected[i]) << "after job " << job << ", index " << i;
    }
  }
}

TEST(Parallel, UsesSeveralThreadsAndNestsSerially) {
  ThreadCountGuard guard(2);
  std::atomic<int> chunks{0};
  std::atomic<int> nested_calls{0};
  parallel_for(1000, 1, [&](int64_t, int64_t) {
    ++chunks;
    EXPECT_TRUE(in_parallel_region());
    parallel_for(10, 1, [&](int64_t b, int64_t e) {
      EXPECT_EQ(b, 0);
      EXPECT_EQ(e, 10);
      ++nested_calls;
    });
  });
  EXPECT_EQ(chunks.load(), 2);
  EXPECT_EQ(nested_calls.load(), 2);
  EXPECT_FALSE(in_parallel_region());
}

TEST(Parallel, RethrowsTheFirstException) {
  ThreadCountGuard guard(2);
  EXPECT_THROW(parallel_for(100, 1,
                            [](int64_t begin, int64_t) {
                              if (begin > 0) throw ValueError("boom");
                            }),
               ValueError);
  // The pool still works afterwards.
  std::atomic<int64_t> total{0};
  parallel_for(100, 1, [&](int64_t b, int64_t e) { total += e - b; });
  EXPECT_EQ(total.load(), 100);
}

TEST(Parallel, GradientsAreBitwiseIdenticalForOneAndTwoThreads) {
  // A small network: every op on the way must be thread-count independent.
  auto run = [](int threads) {
    ThreadCountGuard guard(threads);
    Generator generator(11);
    auto w = Tensor32::randn({64, 48}, generator).set_requires_grad();
    const auto x = Tensor32::randn({300, 64}, generator);
    const auto h = gelu(matmul(x, w));
    const auto loss = mean(log_softmax(layer_norm(h, {48}), -1));
    loss.backward();
    std::vector<float> all = w.grad().to_vector();
    all.push_back(loss.item());
    return all;
  };
  EXPECT_EQ(run(1), run(2));
}

// set_num_threads on one thread while another runs parallel_for: resizing waits for the running
// job, and a job whose chunk count was chosen for the larger pool still runs every chunk once
// (before the fix a shrink under a running job's feet left chunks unrun: a hang or a wrong sum).
TEST(Parallel, ResizingWhileAnotherThreadRunsJobsLosesNoChunk) {
  ThreadCountGuard guard(4);
  std::atomic<bool> resizer_done{false};
  std::thread resizer([&] {
    // A bounded number of resizes, yielding in between: std::mutex is not fair, and the jobs
    // must not starve.
    for (int i = 0; i < 400; ++i) {
      set_num_threads(1 + i % 4);
      std::this_thread::yield();
    }
    resizer_done.store(true);
  });
  // Jobs for as long as the resizer runs (and at least 3000).
  for (int job = 0; job < 3000 || !resizer_done.load(); ++job) {
    std::vector<int> hits(64, 0);
    parallel_for(64, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) ++hits[i];
    });
    for (int64_t i = 0; i < 64; ++i) ASSERT_EQ(hits[i], 1) << "job " << job << ", index " << i;
  }
  resizer.join();
}

// Balanced cuts: every item once, in order, and no chunk heavier than an equal share plus one
// item; a heavy first item gets a chunk of its own; zero costs and more chunks than items.
TEST(Parallel, BalancedCutsCoverEveryItemByCost) {
  const std::vector<int64_t> costs = {50, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  std::vector<int64_t> cost_before{0};
  for (int64_t c : costs) cost_before.push_back(cost_before.back() + c);
  const std::vector<int64_t> two = balanced_bounds(cost_before, 2);
  EXPECT_EQ(two, (std::vector<int64_t>{0, 1, 11}));
  for (int chunks : {1, 2, 3, 7, 20}) {
    const std::vector<int64_t> bounds = balanced_bounds(cost_before, chunks);
    ASSERT_EQ(bounds.size(), static_cast<size_t>(chunks) + 1);
    EXPECT_EQ(bounds.front(), 0);
    EXPECT_EQ(bounds.back(), 11);
    for (int c = 0; c < chunks; ++c) {
      ASSERT_LE(bounds[c], bounds[c + 1]);
      EXPECT_LE(cost_before[bounds[c + 1]] - cost_before[bounds[c]], cost_before.back() / chunks + 50) << c;
    }
  }
  const std::vector<int64_t> zero_costs(6, 0);
  EXPECT_EQ(balanced_bounds(zero_costs, 2).back(), 5);
  EXPECT_THROW(balanced_bounds(std::vector<int64_t>{}, 2), ValueError);

  ThreadCountGuard threads(2);
  std::vector<std::atomic<int>> seen(11);
  parallel_for_balanced(cost_before, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) seen[i]++;
  });
  for (const auto& count : seen) EXPECT_EQ(count.load(), 1);
  parallel_for_balanced(std::vector<int64_t>{0}, [](int64_t, int64_t) { FAIL() << "no items, no call"; });
}

TEST(Parallel, RejectsBadThreadCounts) {
  EXPECT_THROW(set_num_threads(0), ValueError);
  EXPECT_THROW(set_num_threads(-3), ValueError);
}

}  // namespace
}  // namespace attend
