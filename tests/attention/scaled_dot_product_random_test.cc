// 2,000 random configurations of scaled dot-product attention against a float64 loop reference.
// The float32 error of attend must stay within 2x the error of a naive float32 loop (plus a
// floor of 1e-6 of the output's RMS, for configurations where the naive loop happens to be
// exact).
#include <gtest/gtest.h>

#include <cmath>

#include "attention/attention_reference.h"
#include "harness/fused_attention_check.h"
#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::as_double;

struct Config {
  int64_t B, H, Hkv, N, M, D, Dv;
  AttentionOptions<float> options;  // masks filled in float; converted for double
  int mask_kind = 0;                // 0 none, 1 (N,M), 2 (B,1,N,M), 3 (1,H,N,M), 4 (B,H,N,M)
  bool additive = false;
};

std::string describe(const Config& c) {
  const auto& o = c.options;
  return fmt::format(
      "B={} H={} Hkv={} N={} M={} D={} Dv={} causal={} bottom_right={} window=({},{}) mask={} additive={} "
      "padding={} alibi={} softcap={} scale={} dropout={}",
      c.B, c.H, c.Hkv, c.N, c.M, c.D, c.Dv, o.causal, o.alignment == CausalAlignment::kBottomRight,
      o.window_left.value_or(-1), o.window_right.value_or(-1), c.mask_kind, c.additive, o.key_padding_mask.defined(),
      o.alibi_slopes.defined(), o.softcap, o.scale.value_or(0), o.dropout_p);
}

Config random_config(Generator& g) {
  Config c;
  auto between = [&](int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(g.uniform_int(hi - lo + 1)); };
  const bool large = g.uniform() < 0.1;
  c.B = between(1, 3);
  c.Hkv = between(1, 3);
  c.H = c.Hkv * between(1, 3);
  c.N = large ? between(1, 300) : between(1, 24);
  c.M = large ? between(0, 300) : between(0, 24);
  c.D = g.uniform() < 0.8 ? between(1, 20) : between(21, 130);
  c.Dv = g.uniform() < 0.8 ? between(1, 20) : between(21, 130);
  if (c.B * c.H * c.N * c.M * (c.D + c.Dv) > 20'000'000) c.B = c.H = c.Hkv = 1;
  auto& o = c.options;
  o.causal = g.uniform() < 0.3;
  if (g.uniform() < 0.5) o.alignment = CausalAlignment::kBottomRight;
  if (g.uniform() < 0.2) o.window_left = between(0, 8);
  if (g.uniform() < 0.2) o.window_right = between(0, 8);
  c.mask_kind = g.uniform() < 0.4 ? between(1, 4) : 0;
  const Shape mask_shapes[] = {{}, {c.N, c.M}, {c.B, 1, c.N, c.M}, {1, c.H, c.N, c.M}, {c.B, c.H, c.N, c.M}};
  if (c.mask_kind > 0) {
    o.mask = MaskTensor::empty(mask_shapes[c.mask_kind]);
    for (int64_t i = 0; i < o.mask.numel(); ++i) o.mask.data()[i] = g.uniform() < 0.75;
  }
  if (g.uniform() < 0.3) {
    c.additive = true;
    o.additive_mask = Tensor32::empty(mask_shapes[between(1, 4)]);
    for (int64_t i = 0; i < o.additive_mask.numel(); ++i) {
      o.additive_mask.data()[i] = g.uniform() < 0.1 ? -INFINITY : static_cast<float>(g.normal());
    }
  }
  if (g.uniform() < 0.3) {
    o.key_padding_mask = MaskTensor::empty({c.B, c.M});
    for (int64_t i = 0; i < o.key_padding_mask.numel(); ++i) o.key_padding_mask.data()[i] = g.uniform() < 0.2;
  }
  if (g.uniform() < 0.2) o.alibi_slopes = alibi_slopes<float>(c.H);
  if (g.uniform() < 0.2) o.softcap = 0.5 + 5 * g.uniform();
  if (g.uniform() < 0.2) o.scale = 0.05 + g.uniform();
  if (g.uniform() < 0.1) {
    o.dropout_p = 0.5 * g.uniform();
    o.dropout_seed = g.next_u64();
  }
  o.need_weights = g.uniform() < 0.5;
  o.need_log_sum_exp = g.uniform() < 0.5;
  return c;
}

// RMS difference over entries finite in the reference; false if finiteness patterns differ.
bool rms_error(const std::vector<double>& x, const std::vector<double>& ref, double* error, double* ref_rms) {
  double sum = 0, norm = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(ref[i]) || !std::isfinite(x[i])) {
      if (!((std::isnan(ref[i]) && std::isnan(x[i])) || ref[i] == x[i])) return false;
      continue;
    }
    sum += (x[i] - ref[i]) * (x[i] - ref[i]);
    norm += ref[i] * ref[i];
  }
  *error = ref.empty() ? 0 : std::sqrt(sum / ref.size());
  *ref_rms = ref.empty() ? 0 : std::sqrt(norm / ref.size());
  return true;
}

TEST(ScaledDotProductRandom, TwoThousandConfigurationsWithinTwiceNaiveFloat32Error) {
  Generator g(2024);
  int checked = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    const Config c = random_config(g);
    const auto& o = c.options;
    const auto q = Tensor64::randn({c.B, c.H, c.N, c.D}, g).cast<float>();
    const auto k = Tensor64::randn({c.B, c.Hkv, c.M, c.D}, g).cast<float>();
    const auto v = Tensor64::randn({c.B, c.Hkv, c.M, c.Dv}, g).cast<float>();
    AttentionOptions<float> reference_options = o, fused_options = o;
    reference_options.implementation = AttentionImplementation::kReference;
    fused_options.implementation = AttentionImplementation::kFused;
    const auto reference32 = scaled_dot_product_attention(q, k, v, reference_options);
    const auto fused32 = scaled_dot_product_attention(q, k, v, fused_options);
    const auto result64 = scaled_dot_product_attention(q.cast<double>(), k.cast<double>(), v.cast<double>(),
                                                       testing::options_in_double(o));

    // The loop references, with the mask pattern written out here rather than taken from the
    // library.
    const int64_t offset = o.alignment == CausalAlignment::kBottomRight ? c.M - c.N : 0;
    const MaskTensor mask = o.mask.defined() ? o.mask.expand({c.B, c.H, c.N, c.M}).contiguous() : MaskTensor();
    auto allowed_at = [&](int64_t b, int64_t h, int64_t i, int64_t j) {
      const int64_t position = i + offset;
      if (o.causal && j > position) return false;
      if (o.window_left && j < position - *o.window_left) return false;
      if (o.window_right && j > position + *o.window_right) return false;
      if (o.key_padding_mask.defined() && o.key_padding_mask.data()[b * c.M + j]) return false;
      return !mask.defined() || mask.data()[((b * c.H + h) * c.N + i) * c.M + j] != 0;
    };
    const Tensor32 additive =
        o.additive_mask.defined() ? o.additive_mask.expand({c.B, c.H, c.N, c.M}).contiguous() : Tensor32();
    auto additive_at = [&](int64_t b, int64_t h, int64_t i, int64_t j) -> double {
      return additive.defined() ? additive.data()[((b * c.H + h) * c.N + i) * c.M + j] : 0.0;
    };
    const std::vector<double> slopes = o.alibi_slopes.defined() ? as_double(o.alibi_slopes) : std::vector<double>{};
    const double scale = o.scale.value_or(1.0 / std::sqrt(static_cast<double>(c.D)));
    const std::vector<uint8_t> keep = o.dropout_p > 0
                                          ? dropout_keep_mask(c.B * c.H * c.N * c.M, o.dropout_p, o.dropout_seed)
                                          : std::vector<uint8_t>{};
    const auto qd = as_double(q), kd = as_double(k), vd = as_double(v);
    const auto ref =
        testing::reference_attention<double>(qd, kd, vd, c.B, c.H, c.Hkv, c.N, c.M, c.D, c.Dv, scale, o.softcap, slopes,
                                             offset, allowed_at, additive_at, keep, o.dropout_p);
    const auto naive =
        testing::reference_attention<float>(qd, kd, vd, c.B, c.H, c.Hkv, c.N, c.M, c.D, c.Dv, scale, o.softcap, slopes,
                                            offset, allowed_at, additive_at, keep, o.dropout_p);

    auto compare = [&](const char* what, const std::vector<double>& got32, const std::vector<double>& got64,
                       const std::vector<double>& reference, const std::vector<double>& naive32) {
      double e32 = 0, e64 = 0, en = 0, rms = 0;
      ASSERT_TRUE(rms_error(got32, reference, &e32, &rms)) << what << " NaN/Inf pattern (float) " << describe(c);
      ASSERT_TRUE(rms_error(got64, reference, &e64, &rms)) << what << " NaN/Inf pattern (double) " << describe(c);
      ASSERT_TRUE(rms_error(naive32, reference, &en, &rms)) << what << " naive pattern " << describe(c);
      EXPECT_LE(e32, 2 * en + 1e-6 * rms)
          << what << " float32 error " << e32 << " vs naive " << en << " " << describe(c);
      EXPECT_LE(e64, 1e-12 * std::max(rms, 1.0)) << what << " float64 error " << e64 << " " << describe(c);
    };
    for (const auto* result32 : {&reference32, &fused32}) {
      const std::string path = result32 == &reference32 ? "reference " : "fused ";
      compare((path + "output").c_str(), as_double(result32->output), as_double(result64.output), ref.output,
              naive.output);
      if (o.need_weights) {
        compare((path + "weights").c_str(), as_double(result32->weights), as_double(result64.weights), ref.weights,
                naive.weights);
      }
      if (o.need_log_sum_exp) {
        compare((path + "log_sum_exp").c_str(), as_double(result32->log_sum_exp), as_double(result64.log_sum_exp),
                ref.log_sum_exp, naive.log_sum_exp);
      }
    }
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "stopping at trial " << trial;
      return;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 2000);
}

}  // namespace
}  // namespace attend
