// The fused backward against float64: over random configurations, the float32 error of the fused
// gradients must stay within 3x the error of the reference path run in float32 (the "naive"
// float32 implementation), plus a floor of 1e-6 of the gradient's RMS.
#include <gtest/gtest.h>

#include <cmath>

#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::as_double;

double rms_difference(const std::vector<double>& a, const std::vector<double>& b, double* rms) {
  double error = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    error += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  *rms = a.empty() ? 0 : std::sqrt(norm / a.size());
  return a.empty() ? 0 : std::sqrt(error / a.size());
}

struct Gradients {
  std::vector<std::vector<double>> all;  // dq, dk, dv, d_additive (when present)
};

template <typename T>
Gradients run(const Tensor64& q64, const Tensor64& k64, const Tensor64& v64, const Tensor64& additive64,
              const Tensor64& grad64, AttentionOptions<T> o) {
  auto q = q64.cast<T>().set_requires_grad(), k = k64.cast<T>().set_requires_grad(), v = v64.cast<T>().set_requires_grad();
  Tensor<T> additive;
  if (additive64.defined()) {
    additive = additive64.cast<T>().set_requires_grad();
    o.additive_mask = additive;
  }
  scaled_dot_product_attention(q, k, v, o).output.backward(grad64.cast<T>());
  Gradients g;
  for (const auto& x : {q, k, v}) g.all.push_back(as_double(x.grad()));
  if (additive.defined()) g.all.push_back(as_double(additive.grad()));
  return g;
}

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
    const auto q = Tensor64::randn({B, H, N, D}, g), k = Tensor64::randn({B, Hkv, M, D}, g),
               v = Tensor64::randn({B, Hkv, M, Dv}, g), grad = Tensor64::randn({B, H, N, Dv}, g);

    AttentionOptions<double> o64;
    o64.scale = o.scale;
    o64.mask = o.mask;
    o64.key_padding_mask = o.key_padding_mask;
    o64.causal = o.causal;
    o64.alignment = o.alignment;
    o64.window_left = o.window_left;
    o64.window_right = o.window_right;
    o64.softcap = o.softcap;
    o64.dropout_p = o.dropout_p;
    o64.dropout_seed = o.dropout_seed;
    if (o.alibi_slopes.defined()) o64.alibi_slopes = o.alibi_slopes.cast<double>();
    auto fused_options = o, reference_options = o;
    fused_options.implementation = AttentionImplementation::kFused;
    reference_options.implementation = AttentionImplementation::kReference;

    const Gradients truth = run<double>(q, k, v, additive, grad, o64);
    const Gradients fused = run<float>(q, k, v, additive, grad, fused_options);
    const Gradients naive = run<float>(q, k, v, additive, grad, reference_options);
    const char* names[] = {"dq", "dk", "dv", "d_additive"};
    // The floor scales with the largest gradient of the configuration and with the size of the
    // terms dS = P (dP - delta) cancels (|dP| ~ |dO| |V| sqrt(D_v)): a gradient that is 0 in
    // exact arithmetic (one key per row) is a difference of rounded terms of that size.
    double grad_rms = 0, v_rms = 0;
    rms_difference(grad.to_vector(), grad.to_vector(), &grad_rms);
    rms_difference(v.to_vector(), v.to_vector(), &v_rms);
    double scale = grad_rms * v_rms * std::sqrt(static_cast<double>(Dv));
    for (const auto& exact : truth.all) {
      double rms = 0;
      rms_difference(exact, exact, &rms);
      scale = std::max(scale, rms);
    }
    for (size_t i = 0; i < truth.all.size(); ++i) {
      double rms = 0;
      const double fused_error = rms_difference(fused.all[i], truth.all[i], &rms);
      const double naive_error = rms_difference(naive.all[i], truth.all[i], &rms);
      ASSERT_LE(fused_error, 3 * naive_error + 1e-6 * scale)
          << names[i] << " trial " << trial << ": fused " << fused_error << " naive " << naive_error << " (B=" << B
          << " H=" << H << " Hkv=" << Hkv << " N=" << N << " M=" << M << " D=" << D << " Dv=" << Dv << " causal=" << o.causal
          << " softcap=" << o.softcap << " dropout=" << o.dropout_p << " additive=" << additive.defined() << ")";
    }
  }
}

}  // namespace
}  // namespace attend
