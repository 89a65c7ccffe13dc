// The fused backward against float64 over random configurations, on every SIMD target: the
// harness's fused mode (harness/fused_attention_check.h) holds the fused gradients' float32 error
// within 3x the error of the reference path run in float32 (the "naive" float32
// implementation), plus a floor, and the output's within 2x.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "harness/fused_attention_check.h"

namespace attend {
namespace {

TEST(FlashAttentionGradients, RandomConfigurationsWithinThreeTimesNaiveFloat32Error) {
  Generator g(99);
  auto between = [&](int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(g.uniform_int(hi - lo + 1)); };
  const int trials = 2000;
  for (int trial = 0; trial < trials; ++trial) {
    const int64_t B = between(1, 2), Hkv = between(1, 2), H = Hkv * between(1, 3);
    const bool large = g.uniform() < 0.15;
    const int64_t N = large ? between(60, 300) : between(1, 20), M = large ? between(60, 300) : between(1, 20);
    const int64_t D = between(1, 40), Dv = between(1, 40);
    AttentionOptions<float> o;
    o.causal = g.uniform() < 0.4;
    if (g.uniform() < 0.5) o.alignment = CausalAlignment::kBottomRight;
    if (g.uniform() < 0.2) o.window_left = between(0, 6);
    if (g.uniform() < 0.2) o.window_right = between(0, 6);
    if (g.uniform() < 0.25) {
      o.key_padding_mask = MaskTensor::empty({B, M});
      for (int64_t i = 0; i < o.key_padding_mask.numel(); ++i) o.key_padding_mask.data()[i] = g.uniform() < 0.2;
    }
    if (g.uniform() < 0.25) {
      o.mask = MaskTensor::empty({N, M});
      for (int64_t i = 0; i < o.mask.numel(); ++i) o.mask.data()[i] = g.uniform() < 0.8;
    }
    if (g.uniform() < 0.2) o.softcap = 1 + 4 * g.uniform();
    if (g.uniform() < 0.2) o.alibi_slopes = alibi_slopes<float>(H);
    if (g.uniform() < 0.15) {
      o.dropout_p = 0.4 * g.uniform();
      o.dropout_seed = g.next_u64();
    }
    Tensor64 additive;
    if (g.uniform() < 0.2) additive = Tensor64::randn(g.uniform() < 0.5 ? Shape{1, H, N, M} : Shape{N, M}, g);
    testing::FusedAttentionCase c;
    c.name = fmt::format("trial {}", trial);
    c.additive_mask = additive;
    c.query = Tensor64::randn({B, H, N, D}, g), c.key = Tensor64::randn({B, Hkv, M, D}, g);
    c.value = Tensor64::randn({B, Hkv, M, Dv}, g), c.output_gradient = Tensor64::randn({B, H, N, Dv}, g);
    c.options = o;
    const auto result = testing::check_fused_attention(c);
    ASSERT_TRUE(result.ok) << result.message;
  }
}

}  // namespace
}  // namespace attend
