// The split-K decode kernel (a few query rows against many keys) against float64.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "harness/op_harness.h"
#include "kernels/flash_attention.h"

namespace attend {
namespace {

using testing::as_double;

double rms(const std::vector<double>& a, const std::vector<double>& b) {
  double e = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) != std::isnan(b[i])) return INFINITY;
    if (!std::isnan(a[i]) && a[i] != b[i]) e += (a[i] - b[i]) * (a[i] - b[i]);
  }
  return a.empty() ? 0 : std::sqrt(e / a.size());
}

TEST(FlashDecode, EveryFeatureMatchesFloat64WithinTwiceTheReferencePathError) {
  Generator g(31);
  for (int trial = 0; trial < 60; ++trial) {
    const int64_t B = 1 + g.uniform_int(2), Hkv = 1 + g.uniform_int(2), H = Hkv * (1 + g.uniform_int(4));
    const int64_t N = 1 + g.uniform_int(3), M = 1024 + g.uniform_int(4000), Dv = 1 + g.uniform_int(40);
    // D >= 128 takes the direct (non-BLAS) path when a unit has at most 4 rows.
    const int64_t D = g.uniform() < 0.3 ? 128 + g.uniform_int(40) : 1 + g.uniform_int(80);
    AttentionOptions<float> o;
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
    const auto q = Tensor64::randn({B, H, N, D}, g).cast<float>(), k = Tensor64::randn({B, Hkv, M, D}, g).cast<float>(),
               v = Tensor64::randn({B, Hkv, M, Dv}, g).cast<float>();
    AttentionOptions<double> o64;
    o64.causal = o.causal;
    o64.alignment = o.alignment;
    o64.window_left = o.window_left;
    o64.key_padding_mask = o.key_padding_mask;
    o64.softcap = o.softcap;
    o64.dropout_p = o.dropout_p;
    o64.dropout_seed = o.dropout_seed;
    o64.need_log_sum_exp = true;
    if (o.alibi_slopes.defined()) o64.alibi_slopes = o.alibi_slopes.cast<double>();
    auto fused_options = o, reference_options = o;
    fused_options.implementation = AttentionImplementation::kFused;
    reference_options.implementation = AttentionImplementation::kReference;
    kernels::FlashAttentionProblem probe;
    probe.queries = N, probe.heads = H, probe.kv_heads = Hkv, probe.keys = M;
    ASSERT_TRUE(kernels::use_decode_kernel(probe));
    const auto exact = scaled_dot_product_attention(q.cast<double>(), k.cast<double>(), v.cast<double>(), o64);
    const auto fused = scaled_dot_product_attention(q, k, v, fused_options);
    const auto naive = scaled_dot_product_attention(q, k, v, reference_options);
    const auto ex = as_double(exact.output), fx = as_double(fused.output), nx = as_double(naive.output);
    EXPECT_LE(rms(fx, ex), 2 * rms(nx, ex) + 1e-7) << "trial " << trial << " N=" << N << " M=" << M << " D=" << D;
    EXPECT_LE(rms(as_double(fused.log_sum_exp), as_double(exact.log_sum_exp)),
              2 * rms(as_double(naive.log_sum_exp), as_double(exact.log_sum_exp)) + 1e-6)
        << "trial " << trial;
  }
}

TEST(FlashDecode, IndependentOfThreadsAndDifferentiable) {
  Generator g(4);
  const auto q = Tensor32::randn({1, 8, 1, 64}, g), k = Tensor32::randn({1, 2, 5000, 64}, g), v = Tensor32::randn({1, 2, 5000, 64}, g);
  AttentionOptions<float> o;
  o.implementation = AttentionImplementation::kFused;
  std::vector<float> results[2];
  for (int threads : {1, 2}) {
    ThreadCountGuard guard(threads);
    results[threads - 1] = scaled_dot_product_attention(q, k, v, o).output.to_vector();
  }
  EXPECT_EQ(std::memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(float)), 0);
  // The backward pass runs from the decode kernel's log-sum-exp.
  auto q64 = q.cast<double>().set_requires_grad();
  auto q32 = q.clone().set_requires_grad();
  AttentionOptions<double> o64;
  scaled_dot_product_attention(q64, k.cast<double>(), v.cast<double>(), o64).output.backward(Tensor64::ones({1, 8, 1, 64}));
  scaled_dot_product_attention(q32, k, v, o).output.backward(Tensor32::ones({1, 8, 1, 64}));
  const auto a = q32.grad().to_vector();
  const auto b = q64.grad().to_vector();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4 * std::max(1.0, std::abs(b[i])));
}

}  // namespace
}  // namespace attend
