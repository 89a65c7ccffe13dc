// The varlen kernels (several problems in one call, kernels/flash_attention.h): every problem's
// outputs and gradients are the bits it gets alone, at 1 and 2 threads, in both backward
// schedules, with guard sentinels around every buffer.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "attend/core/parallel.h"
#include "attend/core/random.h"
#include "harness/simd_targets.h"
#include "kernels/flash_attention.h"

namespace attend {
namespace {

constexpr float kSentinel = 12345.0f;
constexpr int64_t kGuard = 16;

// A buffer of n floats with kGuard sentinels on each side; data() points past the front guard.
struct Guarded {
  std::vector<float> storage;
  explicit Guarded(int64_t n) : storage(static_cast<size_t>(n + 2 * kGuard), kSentinel) {}
  float* data() { return storage.data() + kGuard; }
  bool guards_intact() const {
    for (int64_t i = 0; i < kGuard; ++i) {
      if (storage[i] != kSentinel || storage[storage.size() - 1 - i] != kSentinel) return false;
    }
    return true;
  }
  std::vector<float> inside() const { return {storage.begin() + kGuard, storage.end() - kGuard}; }
};

// One problem with its inputs (random, contiguous) and room for every output.
struct Case {
  kernels::FlashAttentionProblem p;
  std::vector<float> q, k, v, d_out, slopes;
  Guarded out, lse, dq, dk, dv;
  Case(const kernels::FlashAttentionProblem& shape, bool alibi, Generator& g)
      : p(shape),
        out(p.batch * p.heads * p.queries * p.value_dim),
        lse(p.batch * p.heads * p.queries),
        dq(p.batch * p.heads * p.queries * p.head_dim),
        dk(p.batch * p.kv_heads * p.keys * p.head_dim),
        dv(p.batch * p.kv_heads * p.keys * p.value_dim) {
    const auto fill = [&](std::vector<float>& x, int64_t n) {
      x.resize(static_cast<size_t>(n));
      for (float& value : x) value = static_cast<float>(g.normal());
    };
    fill(q, p.batch * p.heads * p.queries * p.head_dim);
    fill(k, p.batch * p.kv_heads * p.keys * p.head_dim);
    fill(v, p.batch * p.kv_heads * p.keys * p.value_dim);
    fill(d_out, p.batch * p.heads * p.queries * p.value_dim);
    p.q = q.data(), p.k = k.data(), p.v = v.data();
    if (alibi) {
      slopes.assign(static_cast<size_t>(p.heads), 0.25f);
      p.alibi_slopes = slopes.data();
    }
  }
  kernels::FlashForwardCall forward() { return {p, out.data(), lse.data()}; }
  kernels::FlashBackwardCall backward() {
    return {p, out.data(), lse.data(), d_out.data(), dq.data(), dk.data(), dv.data(), nullptr};
  }
  std::vector<std::vector<float>> results() const {
    return {out.inside(), lse.inside(), dq.inside(), dk.inside(), dv.inside()};
  }
  bool intact() const {
    return out.guards_intact() && lse.guards_intact() && dq.guards_intact() && dk.guards_intact() && dv.guards_intact();
  }
};

kernels::FlashAttentionProblem shape(int64_t batch, int64_t heads, int64_t kv_heads, int64_t queries, int64_t keys,
                                     int64_t head_dim, int64_t value_dim) {
  kernels::FlashAttentionProblem p;
  p.batch = batch, p.heads = heads, p.kv_heads = kv_heads, p.queries = queries, p.keys = keys;
  p.head_dim = head_dim, p.value_dim = value_dim, p.scale = 0.2f;
  return p;
}

// Problems unlike each other, with whether each takes ALiBi slopes: 0 a causal GQA prefill with
// dropout, 1 decode-like rows over many keys, 2 an MQA window with soft-cap and ALiBi, 3 a tiny
// sequence, 4 causal queries at an offset into their keys (3 x 3 tiles).
std::vector<std::pair<kernels::FlashAttentionProblem, bool>> mixed_problems() {
  std::vector<std::pair<kernels::FlashAttentionProblem, bool>> problems;
  auto a = shape(1, 4, 2, 300, 300, 32, 16);
  a.causal = true, a.dropout_p = 0.1, a.dropout_seed = 7;
  problems.emplace_back(a, false);
  problems.emplace_back(shape(2, 2, 2, 1, 700, 16, 16), false);
  auto c = shape(1, 3, 1, 600, 1200, 8, 24);
  c.window_left = 500, c.window_right = 300, c.softcap = 5;
  problems.emplace_back(c, true);
  problems.emplace_back(shape(1, 1, 1, 7, 7, 5, 3), false);
  auto e = shape(1, 2, 2, 256, 600, 16, 16);
  e.causal = true, e.offset = 344;
  problems.emplace_back(e, false);
  return problems;
}

// Every chosen problem (indices into mixed_problems()) alone on one thread, then all of them in
// one varlen call on `threads`: the same bits, guards intact. Returns whether the call's backward
// took two passes.
bool run_together(const std::vector<size_t>& chosen, int threads) {
  const auto problems = mixed_problems();
  std::vector<std::vector<std::vector<float>>> alone;
  {
    ThreadCountGuard one(1);
    for (size_t i : chosen) {
      Generator g(100 + i);
      Case c(problems[i].first, problems[i].second, g);
      kernels::flash_attention_forward(c.p, c.out.data(), c.lse.data());
      kernels::flash_attention_backward(c.p, c.out.data(), c.lse.data(), c.d_out.data(), c.dq.data(), c.dk.data(),
                                        c.dv.data(), nullptr);
      alone.push_back(c.results());
    }
  }
  ThreadCountGuard guard(threads);
  std::vector<std::unique_ptr<Case>> cases;
  std::vector<kernels::FlashForwardCall> forwards;
  for (size_t i : chosen) {
    Generator g(100 + i);
    cases.push_back(std::make_unique<Case>(problems[i].first, problems[i].second, g));
    forwards.push_back(cases.back()->forward());
  }
  kernels::flash_attention_forward(forwards);
  std::vector<kernels::FlashBackwardCall> backwards;
  for (auto& c : cases) backwards.push_back(c->backward());
  kernels::flash_attention_backward(backwards);
  const char* names[] = {"out", "log_sum_exp", "dq", "dk", "dv"};
  for (size_t n = 0; n < cases.size(); ++n) {
    EXPECT_TRUE(cases[n]->intact()) << "problem " << chosen[n] << " wrote outside its buffers";
    const auto together = cases[n]->results();
    for (size_t r = 0; r < together.size(); ++r) {
      EXPECT_EQ(0, std::memcmp(together[r].data(), alone[n][r].data(), together[r].size() * sizeof(float)))
          << names[r] << " of problem " << chosen[n] << " at " << threads << " threads";
    }
  }
  return kernels::backward_splits_over_tiles(backwards);
}

TEST(FlashVarlen, EachProblemGetsItsOwnBitsInOneCall) {
  testing::for_each_simd_target([&] {
    for (int threads : {1, 2}) run_together({0, 1, 2, 3, 4}, threads);
  });
}

// Among small problems, the MQA one's single (batch, key/value head) unit outweighs the rest:
// on 2 threads the backward splits over tiles (not on 1), with the same bits. Small problems
// of many units alone keep one pass.
TEST(FlashVarlen, BackwardSplitsOverTilesWhenOneUnitDominates) {
  for (int threads : {1, 2}) {
    EXPECT_EQ(run_together({2, 3}, threads), threads == 2) << threads << " threads";
    EXPECT_FALSE(run_together({3, 1}, threads)) << threads << " threads";
  }
}

// An empty call does nothing.
TEST(FlashVarlen, EmptyCallDoesNothing) {
  kernels::flash_attention_forward(std::span<const kernels::FlashForwardCall>());
  kernels::flash_attention_backward(std::span<const kernels::FlashBackwardCall>());
  EXPECT_FALSE(kernels::backward_splits_over_tiles(std::span<const kernels::FlashBackwardCall>()));
}

}  // namespace
}  // namespace attend
