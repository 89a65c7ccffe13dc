// The fused kernels at tile boundaries, with guarded buffers, across thread counts, on every SIMD
// target (against float64 through the harness's fused mode, harness/fused_attention_check.h).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "attend/core/autograd.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/reduction.h"
#include "harness/expect_error.h"
#include "harness/fused_attention_check.h"
#include "harness/simd_targets.h"
#include "kernels/attention_primitives.h"
#include "kernels/flash_attention.h"

namespace attend {
namespace {

// N, M and D that are not multiples of the tiles (kQueryBlock x kKeyBlock = 128 x 256) nor of the SIMD width.
TEST(FlashAttention, SizesAroundTheTilesMatchFloat64ForwardAndBackward) {
  const int64_t sizes[] = {1, 7, 63, 65, 127, 129, 1000};
  Generator g(17);
  struct Shape3 {
    int64_t N, M, D;
  };
  std::vector<Shape3> shapes;
  for (int64_t s : sizes) {
    shapes.push_back({s, 65, 16});
    shapes.push_back({33, s, 16});
    shapes.push_back({9, 129, s});
  }
  for (const auto& [N, M, D] : shapes) {
    for (bool causal : {false, true}) {
      testing::FusedAttentionCase c;
      c.name = "around the tiles";
      c.query = Tensor64::randn({1, 2, N, D}, g), c.key = Tensor64::randn({1, 2, M, D}, g);
      c.value = Tensor64::randn({1, 2, M, 24}, g), c.output_gradient = Tensor64::randn({1, 2, N, 24}, g);
      c.options.causal = causal;
      c.options.alignment = CausalAlignment::kBottomRight;
      const auto result = testing::check_fused_attention(c);
      EXPECT_TRUE(result.ok) << result.message;
    }
  }
}

// The kernels write exactly their outputs: sentinels around every buffer stay intact.
TEST(FlashAttention, KernelsWriteNoFurtherThanTheirOutputs) {
  testing::for_each_simd_target([&] {
    const int64_t B = 1, H = 2, N = 70, M = 300, D = 20, Dv = 13, guard = 64;
    Generator g(5);
    const auto q = Tensor32::randn({B, H, N, D}, g), k = Tensor32::randn({B, H, M, D}, g),
               v = Tensor32::randn({B, H, M, Dv}, g);
    const auto d_out = Tensor32::randn({B, H, N, Dv}, g);
    kernels::FlashAttentionProblem p;
    p.batch = B, p.heads = H, p.kv_heads = H, p.queries = N, p.keys = M, p.head_dim = D, p.value_dim = Dv;
    p.q = q.data(), p.k = k.data(), p.v = v.data(), p.scale = 0.3f, p.causal = true;
    const float sentinel = 12345.0f;
    auto guarded = [&](int64_t n) { return std::vector<float>(n + 2 * guard, sentinel); };
    auto intact = [&](const std::vector<float>& buffer, int64_t n) {
      for (int64_t i = 0; i < guard; ++i) {
        if (buffer[i] != sentinel || buffer[guard + n + i] != sentinel) return false;
      }
      return true;
    };
    auto out = guarded(B * H * N * Dv), lse = guarded(B * H * N), weights = guarded(B * H * N * M);
    auto dq = guarded(B * H * N * D), dk = guarded(B * H * M * D), dv = guarded(B * H * M * Dv);
    kernels::flash_attention_forward(p, out.data() + guard, lse.data() + guard);
    kernels::attention_weights_from_log_sum_exp(p, lse.data() + guard, weights.data() + guard);
    kernels::flash_attention_backward(p, out.data() + guard, lse.data() + guard, d_out.data(), dq.data() + guard,
                                      dk.data() + guard, dv.data() + guard, nullptr);
    EXPECT_TRUE(intact(out, B * H * N * Dv));
    EXPECT_TRUE(intact(lse, B * H * N));
    EXPECT_TRUE(intact(weights, B * H * N * M));
    EXPECT_TRUE(intact(dq, B * H * N * D));
    EXPECT_TRUE(intact(dk, B * H * M * D));
    EXPECT_TRUE(intact(dv, B * H * M * Dv));
    // And every output element was written (no sentinel left inside).
    for (int64_t i = 0; i < B * H * N * Dv; ++i) ASSERT_NE(out[guard + i], sentinel);
    for (int64_t i = 0; i < B * H * M * D; ++i) ASSERT_NE(dk[guard + i], sentinel);
  });
}

// `base` made causal (bottom-right), and `base` with a window of `left` keys before and `right`
// after each query.
std::vector<AttentionOptions<float>> causal_and_windowed(const AttentionOptions<float>& base, int64_t left,
                                                         int64_t right) {
  AttentionOptions<float> causal = base, windowed = base;
  causal.causal = true;
  causal.alignment = CausalAlignment::kBottomRight;
  windowed.window_left = left;
  windowed.window_right = right;
  return {causal, windowed};
}

TEST(FlashAttention, BitwiseIdenticalForOneAndTwoThreads) {
  Generator g(21);
  testing::FusedAttentionCase c;
  c.name = "1 and 2 threads";
  c.query = Tensor64::randn({2, 4, 300, 32}, g), c.key = Tensor64::randn({2, 2, 500, 32}, g);
  c.value = Tensor64::randn({2, 2, 500, 16}, g), c.output_gradient = Tensor64::randn({2, 4, 300, 16}, g);
  c.options.dropout_p = 0.1;
  c.options.dropout_seed = 3;
  // Causal, and a sliding window whose first allowed key is not on a key-panel boundary (the
  // forward's key tiles then start before it).
  for (const AttentionOptions<float>& o : causal_and_windowed(c.options, 37, 5)) {
    c.options = o;
    const auto result = testing::check_fused_thread_invariance(c);
    EXPECT_TRUE(result.ok) << result.message;
  }
}

// B = 1 with multi-query attention is one (batch, key/value head) unit: with 2 threads the
// backward runs in two passes (key tiles, then query tiles), with 1 thread in one. Both must
// match float64 and each other bit for bit, with every per-element feature and d_additive.
TEST(FlashAttention, BackwardSplitOverTilesMatchesOnePass) {
  kernels::FlashAttentionProblem shape;
  shape.batch = 1, shape.heads = 3, shape.kv_heads = 1, shape.queries = 300, shape.keys = 600;
  for (int threads : {1, 2}) {
    ThreadCountGuard guard(threads);
    EXPECT_EQ(kernels::backward_splits_over_tiles(shape), threads == 2) << threads << " threads";
  }
  Generator g(23);
  testing::FusedAttentionCase c;
  c.name = "one key/value head";
  c.query = Tensor64::randn({1, 3, 300, 32}, g), c.key = Tensor64::randn({1, 1, 600, 32}, g);
  c.value = Tensor64::randn({1, 1, 600, 16}, g), c.output_gradient = Tensor64::randn({1, 3, 300, 16}, g);
  c.additive_mask = Tensor64::randn({1, 3, 300, 600}, g);
  c.options.dropout_p = 0.1;
  c.options.dropout_seed = 5;
  c.options.softcap = 20;
  std::vector<AttentionOptions<float>> variants = causal_and_windowed(c.options, 200, 40);
  variants.push_back(c.options);
  for (const AttentionOptions<float>& o : variants) {
    c.options = o;
    const auto invariance = testing::check_fused_thread_invariance(c);
    EXPECT_TRUE(invariance.ok) << invariance.message;
    ThreadCountGuard two(2);
    const auto accuracy = testing::check_fused_attention(c);
    EXPECT_TRUE(accuracy.ok) << accuracy.message;
  }
}

TEST(FlashAttention, KeysBeforeTheWindowAreNeverRead) {
  testing::for_each_simd_target([&] {
    // Query tile 2 (rows 128..255) may see keys from 128 - 37 = 91 on; its key tiles start on a
    // panel boundary before that. Infinite values in keys 80..90 must not reach those rows.
    Generator g(22);
    const int64_t n = 300, d = 8;
    auto q = Tensor32::randn({1, 1, n, d}, g), k = Tensor32::randn({1, 1, n, d}, g),
         v = Tensor32::randn({1, 1, n, d}, g);
    float* values = v.data();
    for (int64_t j = 80; j <= 90; ++j) {
      for (int64_t c = 0; c < d; ++c) values[j * d + c] = std::numeric_limits<float>::infinity();
    }
    AttentionOptions<float> o;
    o.implementation = AttentionImplementation::kFused;
    o.window_left = 37;
    o.window_right = 0;
    const auto out = scaled_dot_product_attention(q, k, v, o).output.to_vector();
    for (int64_t i = 128; i < n; ++i) {
      for (int64_t c = 0; c < d; ++c) ASSERT_TRUE(std::isfinite(out[i * d + c])) << "row " << i << " col " << c;
    }
    EXPECT_FALSE(std::isfinite(out[85 * d])) << "row 85 does see key 85";
  });
}

TEST(FlashAttention, DispatchPicksFusedForFloatAndExplainsOtherwise) {
  const auto q = Tensor32::ones({1, 1, 2, 4});
  AttentionOptions<float> o;
  EXPECT_EQ(choose_attention_implementation(q, q, q, o).first, AttentionImplementation::kFused);
  o.implementation = AttentionImplementation::kReference;
  EXPECT_EQ(choose_attention_implementation(q, q, q, o).first, AttentionImplementation::kReference);
  const auto q64 = Tensor64::ones({1, 1, 2, 4});
  AttentionOptions<double> o64;
  const auto [implementation, reason] = choose_attention_implementation(q64, q64, q64, o64);
  EXPECT_EQ(implementation, AttentionImplementation::kReference);
  EXPECT_NE(reason.find("float32"), std::string::npos);
  o64.implementation = AttentionImplementation::kFused;
  EXPECT_THROW(scaled_dot_product_attention(q64, q64, q64, o64), ValueError);
}

// The fused path's need_weights are constants (recomputed from the log-sum-exp). A call that
// wants P while a gradient is recorded goes to the reference path, so that a loss on P keeps its
// gradient: d/dq of sum(P * G) matches float64's; kFused asked for it is an error; without a
// gradient to record the fused path still serves need_weights.
TEST(FlashAttention, WeightsWithAGradientGoToTheDifferentiablePath) {
  Generator generator(4);
  const auto q64 = Tensor64::randn({1, 2, 3, 4}, generator), k64 = Tensor64::randn({1, 2, 5, 4}, generator);
  const auto v64 = Tensor64::randn({1, 2, 5, 3}, generator), g64 = Tensor64::randn({1, 2, 3, 5}, generator);
  const auto grad_of_q = [&](auto q, const auto& k, const auto& v, const auto& g, auto options) {
    q.set_requires_grad();
    options.need_weights = true;
    const auto weights = scaled_dot_product_attention(q, k, v, options).weights;  // (1, 2, 3, 5)
    sum(mul(weights, g)).backward();
    return q.grad().to_vector();
  };
  const std::vector<double> expected = grad_of_q(q64.clone(), k64, v64, g64, AttentionOptions<double>{});
  AttentionOptions<float> options;
  const auto f32 = [](const Tensor64& x) { return x.cast<float>(); };
  AttentionOptions<float> with_weights;
  with_weights.need_weights = true;
  EXPECT_EQ(choose_attention_implementation(f32(q64).set_requires_grad(), f32(k64), f32(v64), with_weights).first,
            AttentionImplementation::kReference);
  const std::vector<float> got = grad_of_q(f32(q64), f32(k64), f32(v64), f32(g64), options);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-5) << i;
  EXPECT_GT(std::abs(expected[0]) + std::abs(expected[1]), 1e-3);  // a gradient that could be lost

  options.implementation = AttentionImplementation::kFused;
  expect_error<ValueError>([&] { grad_of_q(f32(q64), f32(k64), f32(v64), f32(g64), options); },
                           {"kFused was requested but need_weights while a gradient is recorded"});
  NoGradGuard no_grad;
  EXPECT_EQ(choose_attention_implementation(f32(q64), f32(k64), f32(v64), with_weights).first,
            AttentionImplementation::kFused);
}

// The primitives against double loops over lengths 0..130, at every misalignment.
TEST(AttentionPrimitives, MatchDoubleLoops) {
  testing::for_each_simd_target([&] {
    Generator g(8);
    for (int64_t n = 0; n <= 130; ++n) {
      for (int64_t shift = 0; shift < 3; ++shift) {
        std::vector<float> storage(n + 3), other(n + 3);
        for (auto& x : storage) x = static_cast<float>(g.normal());
        for (auto& x : other) x = static_cast<float>(g.normal());
        float* x = storage.data() + shift;
        const std::vector<float> original(x, x + n);
        // scale_and_max
        const float m = kernels::scale_and_max(x, n, 0.5f);
        double expected_max = -INFINITY;
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_EQ(x[i], original[i] * 0.5f);
          expected_max = std::max<double>(expected_max, original[i] * 0.5f);
        }
        ASSERT_EQ(m, expected_max);
        // exp_and_sum
        const float sum = kernels::exp_and_sum(x, n, m);
        double expected_sum = 0;
        for (int64_t i = 0; i < n; ++i) {
          const double e = std::exp(static_cast<double>(original[i] * 0.5f) - m);
          ASSERT_NEAR(x[i], e, 4e-7 * std::max(1.0, e));
          expected_sum += e;
        }
        ASSERT_NEAR(sum, expected_sum, 1e-6 * std::max(1.0, expected_sum));
        // dot and softmax_backward_row
        const float* y = other.data() + shift;
        double expected_dot = 0;
        for (int64_t i = 0; i < n; ++i) expected_dot += static_cast<double>(original[i]) * y[i];
        ASSERT_NEAR(kernels::dot(original.data(), y, n), expected_dot, 1e-5 * std::max(1.0, std::sqrt(double(n))));
        std::vector<float> ds(n);
        kernels::softmax_backward_row(original.data(), y, ds.data(), n, 0.25f);
        for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(ds[i], original[i] * (y[i] - 0.25), 1e-6);
        std::vector<float> axpy(y, y + n);
        kernels::add_scaled_row(axpy.data(), original.data(), n, -1.5f);
        for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(axpy[i], y[i] - 1.5 * original[i], 1e-6 * (1 + std::abs(y[i])));
        std::vector<float> p(n);
        kernels::exp_scaled_minus(original.data(), p.data(), n, 0.5f, 1.0f);
        for (int64_t i = 0; i < n; ++i)
          ASSERT_NEAR(p[i], std::exp(original[i] * 0.5 - 1.0), 4e-7 * std::max(1.0, double(p[i])));
        // The in-place forms give the same bits as the out-of-place ones.
        std::vector<float> in_place(original.begin(), original.begin() + n);
        kernels::exp_scaled_minus_in_place(in_place.data(), n, 0.5f, 1.0f);
        ASSERT_EQ(in_place, p);
        in_place.assign(y, y + n);
        kernels::softmax_backward_row_in_place(original.data(), in_place.data(), n, 0.25f);
        ASSERT_EQ(in_place, ds);
      }
    }
    // exp keeps NaN and maps -inf to 0.
    float special[3] = {NAN, -INFINITY, 0.0f};
    const float total = kernels::exp_and_sum(special, 3, 0.0f);
    EXPECT_TRUE(std::isnan(special[0]));
    EXPECT_EQ(special[1], 0.0f);
    EXPECT_EQ(special[2], 1.0f);
    EXPECT_TRUE(std::isnan(total));
  });
}

// The softmax's exp on every target (AVX-512 has its own): within 1 ulp of exp where results
// are normal floats; below that a denormal or 0 (AVX-512 flushes those results: within the
// smallest normal float of exp); exactly 1 at 0, 0 at -inf, NaN at NaN. Steps of 2^-10 from
// -120 to 88.
TEST(AttentionPrimitives, ExpIsWithinOneUlp) {
  testing::for_each_simd_target([&] {
    std::vector<float> x;
    for (double v = -120.0; v <= 88.0; v += 1.0 / 1024) x.push_back(static_cast<float>(v));
    std::vector<float> e = x;
    kernels::exp_and_sum(e.data(), static_cast<int64_t>(e.size()), 0.0f);
    double worst_ulp = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double exact = std::exp(static_cast<double>(x[i]));
      if (exact >= std::numeric_limits<float>::min()) {
        const double ulp = std::ldexp(1.0, std::ilogb(exact) - 23);
        worst_ulp = std::max(worst_ulp, std::abs(e[i] - exact) / ulp);
      } else {
        ASSERT_LE(std::abs(e[i] - exact), std::numeric_limits<float>::min()) << "x = " << x[i];
      }
    }
    EXPECT_LE(worst_ulp, 1.0) << kernels::simd_target_name();
    float special[4] = {0.0f, -INFINITY, NAN, -1000.0f};
    kernels::exp_and_sum(special, 4, 0.0f);
    EXPECT_EQ(special[0], 1.0f);
    EXPECT_EQ(special[1], 0.0f);
    EXPECT_TRUE(std::isnan(special[2]));
    EXPECT_EQ(special[3], 0.0f);
  });
}

}  // namespace
}  // namespace attend
