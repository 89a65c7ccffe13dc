// The split-K decode kernel (a few query rows against many keys) against float64, on every SIMD
// target (the harness's fused mode, harness/fused_attention_check.h).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "harness/fused_attention_check.h"
#include "kernels/flash_attention.h"

namespace attend {
namespace {

TEST(FlashDecode, EveryFeatureMatchesFloat64WithinTwiceTheReferencePathError) {
  Generator g(31);
  for (int trial = 0; trial < 60; ++trial) {
    const int64_t B = 1 + g.uniform_int(2), Hkv = 1 + g.uniform_int(2), H = Hkv * (1 + g.uniform_int(4));
    const int64_t N = 1 + g.uniform_int(3), M = 1024 + g.uniform_int(4000), Dv = 1 + g.uniform_int(40);
    // D >= 128 takes the direct (non-BLAS) path when a unit has at most 4 rows.
    const int64_t D = g.uniform() < 0.3 ? 128 + g.uniform_int(40) : 1 + g.uniform_int(80);
    testing::FusedAttentionCase c;
    c.name = fmt::format("trial {}", trial);
    AttentionOptions<float>& o = c.options;
    o.causal = g.uniform() < 0.5;
    o.alignment = CausalAlignment::kBottomRight;
    if (g.uniform() < 0.3) o.window_left = g.uniform_int(2000);
    if (g.uniform() < 0.3) {
      o.key_padding_mask = MaskTensor::empty({B, M});
      for (int64_t i = 0; i < o.key_padding_mask.numel(); ++i) o.key_padding_mask.data()[i] = g.uniform() < 0.1;
    }
    if (g.uniform() < 0.2) o.softcap = 5;
    if (g.uniform() < 0.2) o.alibi_slopes = alibi_slopes<float>(H);
    if (g.uniform() < 0.2) {
      o.dropout_p = 0.2;
      o.dropout_seed = g.next_u64();
    }
    o.need_log_sum_exp = true;
    c.query = Tensor64::randn({B, H, N, D}, g), c.key = Tensor64::randn({B, Hkv, M, D}, g);
    c.value = Tensor64::randn({B, Hkv, M, Dv}, g);
    kernels::FlashAttentionProblem probe;
    probe.queries = N, probe.heads = H, probe.kv_heads = Hkv, probe.keys = M;
    ASSERT_TRUE(kernels::use_decode_kernel(probe));
    const auto result = testing::check_fused_attention(c);
    ASSERT_TRUE(result.ok) << result.message;
  }
}

TEST(FlashDecode, IndependentOfThreadsAndDifferentiable) {
  Generator g(4);
  testing::FusedAttentionCase c;
  c.name = "one query row per head, 5000 keys";
  c.query = Tensor64::randn({1, 8, 1, 64}, g), c.key = Tensor64::randn({1, 2, 5000, 64}, g);
  c.value = Tensor64::randn({1, 2, 5000, 64}, g);
  const auto threads = testing::check_fused_thread_invariance(c);
  EXPECT_TRUE(threads.ok) << threads.message;
  // The backward pass runs from the decode kernel's log-sum-exp.
  c.output_gradient = Tensor64::ones({1, 8, 1, 64});
  const auto gradients = testing::check_fused_attention(c);
  EXPECT_TRUE(gradients.ok) << gradients.message;
}

}  // namespace
}  // namespace attend
