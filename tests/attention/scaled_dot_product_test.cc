#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "harness/expect_error.h"
#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

template <typename T>
AttentionOptions<T> with(std::function<void(AttentionOptions<T>&)> set) {
  AttentionOptions<T> o;
  set(o);
  return o;
}

// Gradients of q, k, v (and of the additive mask and ALiBi slopes) by finite differences.
TEST(ScaledDotProduct, GradientsOfEveryInput) {
  struct Case {
    const char* name;
    int64_t B, H, Hkv, N, M, D, Dv;
    std::function<void(AttentionOptions<float>&)> f;
    std::function<void(AttentionOptions<double>&)> d;
  };
  const auto padding = MaskTensor::from_vector({2, 5}, {0, 0, 1, 0, 0, 1, 0, 0, 0, 1});
  const auto mask =
      MaskTensor::from_vector({3, 5}, {1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1});  // row 1 fully masked
  const std::vector<Case> cases = {
      {"plain", 1, 1, 1, 3, 4, 5, 2, [](auto&) {}, [](auto&) {}},
      {"causal GQA", 2, 4, 2, 3, 5, 3, 4, [](auto& o) { o.causal = true; }, [](auto& o) { o.causal = true; }},
      {"causal bottom-right MQA", 1, 3, 1, 2, 5, 4, 3,
       [](auto& o) {
         o.causal = true;
         o.alignment = CausalAlignment::kBottomRight;
       },
       [](auto& o) {
         o.causal = true;
         o.alignment = CausalAlignment::kBottomRight;
       }},
      {"window and padding", 2, 2, 2, 3, 5, 3, 3,
       [padding](auto& o) {
         o.window_left = 1;
         o.window_right = 1;
         o.key_padding_mask = padding;
       },
       [padding](auto& o) {
         o.window_left = 1;
         o.window_right = 1;
         o.key_padding_mask = padding;
       }},
      {"boolean mask with a fully masked row", 1, 2, 1, 3, 5, 2, 2, [mask](auto& o) { o.mask = mask; },
       [mask](auto& o) { o.mask = mask; }},
      {"softcap alibi scale", 1, 3, 3, 4, 4, 3, 2,
       [](auto& o) {
         o.softcap = 2.0;
         o.alibi_slopes = alibi_slopes<float>(3);
         o.scale = 0.7;
       },
       [](auto& o) {
         o.softcap = 2.0;
         o.alibi_slopes = alibi_slopes<double>(3);
         o.scale = 0.7;
       }},
      {"dropout", 1, 2, 2, 3, 4, 3, 3,
       [](auto& o) {
         o.dropout_p = 0.3;
         o.dropout_seed = 5;
       },
       [](auto& o) {
         o.dropout_p = 0.3;
         o.dropout_seed = 5;
       }},
      {"size one", 1, 1, 1, 1, 1, 1, 1, [](auto&) {}, [](auto&) {}},
  };
  for (const auto& c : cases) {
    auto op = make_case(
        c.name,
        {InputSpec{{c.B, c.H, c.N, c.D}}, InputSpec{{c.B, c.Hkv, c.M, c.D}}, InputSpec{{c.B, c.Hkv, c.M, c.Dv}}},
        [c](const auto& x) {
          using T = typename std::decay_t<decltype(x[0])>::value_type;
          AttentionOptions<T> o;
          if constexpr (std::is_same_v<T, float>)
            c.f(o);
          else
            c.d(o);
          return scaled_dot_product_attention(x[0], x[1], x[2], o).output;
        });
    op.max_nmse = 1e-9;
    EXPECT_OP_OK(op);
  }
}

TEST(ScaledDotProduct, GradientOfAdditiveMaskSlopesAndLogSumExp) {
  auto op = make_case("additive mask + slopes",
                      {InputSpec{{1, 2, 3, 4}}, InputSpec{{1, 2, 5, 4}}, InputSpec{{1, 2, 5, 3}}, InputSpec{{3, 5}},
                       InputSpec{{2}, testing::InputKind::kPositive}},
                      [](const auto& x) {
                        using T = typename std::decay_t<decltype(x[0])>::value_type;
                        AttentionOptions<T> o;
                        o.additive_mask = x[3];
                        o.alibi_slopes = x[4];
                        o.need_log_sum_exp = true;
                        const auto r = scaled_dot_product_attention(x[0], x[1], x[2], o);
                        return concat(std::vector<Tensor<T>>{r.output.reshape({-1}), r.log_sum_exp.reshape({-1})}, 0);
                      });
  op.max_nmse = 1e-9;
  EXPECT_OP_OK(op);
}

TEST(ScaledDotProduct, FullyMaskedRowsGiveZerosAndZeroGradients) {
  Generator g(1);
  auto q = Tensor64::randn({1, 1, 2, 3}, g).set_requires_grad();
  auto k = Tensor64::randn({1, 1, 4, 3}, g).set_requires_grad();
  auto v = Tensor64::randn({1, 1, 4, 2}, g).set_requires_grad();
  AttentionOptions<double> o;
  o.mask = MaskTensor::from_vector({2, 4}, {0, 0, 0, 0, 1, 1, 0, 1});
  o.need_log_sum_exp = true;
  o.need_weights = true;
  const auto r = scaled_dot_product_attention(q, k, v, o);
  EXPECT_EQ(r.output.at({0, 0, 0, 0}), 0.0);
  EXPECT_EQ(r.output.at({0, 0, 0, 1}), 0.0);
  EXPECT_EQ(r.log_sum_exp.at({0, 0, 0}), -std::numeric_limits<double>::infinity());
  for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(r.weights.at({0, 0, 0, j}), 0.0);
  sum(r.output).backward();
  for (int64_t d = 0; d < 3; ++d) EXPECT_EQ(q.grad().at({0, 0, 0, d}), 0.0);
  for (double x : q.grad().to_vector()) EXPECT_FALSE(std::isnan(x));
  // Key 2 is masked for every query: no gradient reaches it.
  for (int64_t d = 0; d < 3; ++d) EXPECT_EQ(k.grad().at({0, 0, 2, d}), 0.0);
  for (int64_t d = 0; d < 2; ++d) EXPECT_EQ(v.grad().at({0, 0, 2, d}), 0.0);
}

TEST(ScaledDotProduct, NaNInAnAllowedScoreStaysNaNInItsRowOnly) {
  auto q = Tensor64::ones({1, 1, 2, 2});
  q.data()[0] = std::numeric_limits<double>::quiet_NaN();  // query 0
  const auto r = scaled_dot_product_attention(q, Tensor64::ones({1, 1, 3, 2}), Tensor64::ones({1, 1, 3, 2}));
  EXPECT_TRUE(std::isnan(r.output.at({0, 0, 0, 0})));
  EXPECT_EQ(r.output.at({0, 0, 1, 0}), 1.0);
  // The NaN query's row is fully masked: its row is 0, not NaN.
  AttentionOptions<double> o;
  o.mask = MaskTensor::from_vector({2, 1}, {0, 1});
  EXPECT_EQ(scaled_dot_product_attention(q, Tensor64::ones({1, 1, 3, 2}), Tensor64::ones({1, 1, 3, 2}), o)
                .output.at({0, 0, 0, 0}),
            0.0);
}

TEST(ScaledDotProduct, LargeLogitsDoNotOverflow) {
  // Scores around 1e4 in float32.
  const auto q = Tensor32::full({1, 1, 1, 1}, 100.0f);
  const auto k = Tensor32::from_vector({1, 1, 3, 1}, {100.0f, 99.99f, -100.0f});
  const auto v = Tensor32::from_vector({1, 1, 3, 1}, {1.0f, 2.0f, 3.0f});
  AttentionOptions<float> o;
  o.scale = 1.0;
  o.need_log_sum_exp = true;
  const auto r = scaled_dot_product_attention(q, k, v, o);
  // Weights 1 / (1 + e^-1) and e^-1 / (1 + e^-1) on the first two keys.
  const double w0 = 1 / (1 + std::exp(-1.0));
  EXPECT_NEAR(r.output.item(), w0 * 1 + (1 - w0) * 2, 1e-5);
  EXPECT_NEAR(r.log_sum_exp.item(), 1e4 + std::log(1 + std::exp(-1.0)), 1e-2);
}

TEST(ScaledDotProduct, ZeroLengthKeysGiveZerosAndMinusInfinityLogSumExp) {
  AttentionOptions<float> o;
  o.need_log_sum_exp = true;
  const auto r = scaled_dot_product_attention(Tensor32::ones({2, 2, 3, 4}), Tensor32::ones({2, 1, 0, 4}),
                                              Tensor32::ones({2, 1, 0, 5}), o);
  EXPECT_EQ(r.output.shape(), (Shape{2, 2, 3, 5}));
  for (float x : r.output.to_vector()) EXPECT_EQ(x, 0.0f);
  for (float x : r.log_sum_exp.to_vector()) EXPECT_EQ(x, -std::numeric_limits<float>::infinity());
}

TEST(ScaledDotProduct, AskingForWeightsChangesNothing) {
  Generator g(3);
  const auto q = Tensor32::randn({2, 4, 7, 8}, g), k = Tensor32::randn({2, 2, 9, 8}, g),
             v = Tensor32::randn({2, 2, 9, 5}, g);
  for (auto implementation : {AttentionImplementation::kReference, AttentionImplementation::kFused}) {
    AttentionOptions<float> o;
    o.implementation = implementation;
    o.causal = true;
    o.dropout_p = 0.2;
    o.dropout_seed = 9;
    const auto plain = scaled_dot_product_attention(q, k, v, o).output.to_vector();
    o.need_weights = true;
    o.need_log_sum_exp = true;
    const auto with_weights = scaled_dot_product_attention(q, k, v, o);
    EXPECT_EQ(plain, with_weights.output.to_vector());  // bitwise
    // And the weights are the ones that produced the output: O = P V (bitwise on the reference
    // path, which computes exactly that; to rounding on the fused one, which sums by tiles).
    const auto again =
        matmul(with_weights.weights.reshape({2, 2, 2, 7, 9}), v.unsqueeze(2)).reshape({2, 4, 7, 5}).to_vector();
    for (size_t i = 0; i < plain.size(); ++i) {
      if (implementation == AttentionImplementation::kReference) {
        EXPECT_EQ(again[i], plain[i]);
      } else {
        EXPECT_NEAR(again[i], plain[i], 1e-6);
      }
    }
  }
}

TEST(ScaledDotProduct, GroupedQueryEqualsRepeatedKeysAndValues) {
  Generator g(4);
  const auto q = Tensor64::randn({1, 6, 4, 3}, g), k = Tensor64::randn({1, 2, 5, 3}, g),
             v = Tensor64::randn({1, 2, 5, 2}, g);
  // Repeat each key/value head 3 times: heads 0,1,2 -> kv 0; 3,4,5 -> kv 1.
  auto repeat = [](const Tensor64& x) {
    return x.unsqueeze(2).expand({1, 2, 3, 5, x.size(-1)}).reshape({1, 6, 5, x.size(-1)});
  };
  const auto grouped = scaled_dot_product_attention(q, k, v).output.to_vector();
  const auto repeated = scaled_dot_product_attention(q, repeat(k), repeat(v)).output.to_vector();
  ASSERT_EQ(grouped.size(), repeated.size());
  for (size_t i = 0; i < grouped.size(); ++i) EXPECT_NEAR(grouped[i], repeated[i], 1e-14);
}

TEST(ScaledDotProduct, CausalAlignments) {
  AttentionOptions<double> top, bottom;
  top.causal = bottom.causal = true;
  bottom.alignment = CausalAlignment::kBottomRight;
  // N = 2 queries, M = 4 keys. Top-left: query 0 sees key 0, query 1 keys 0-1.
  // Bottom-right: query 0 sees keys 0-2, query 1 keys 0-3.
  EXPECT_EQ(attention_allowed(1, 1, 2, 4, top).to_vector(), (std::vector<uint8_t>{1, 0, 0, 0, 1, 1, 0, 0}));
  EXPECT_EQ(attention_allowed(1, 1, 2, 4, bottom).to_vector(), (std::vector<uint8_t>{1, 1, 1, 0, 1, 1, 1, 1}));
  AttentionOptions<double> window;
  window.window_left = 1;
  window.window_right = 0;
  EXPECT_EQ(attention_allowed(1, 1, 3, 3, window).to_vector(), (std::vector<uint8_t>{1, 0, 0, 1, 1, 0, 0, 1, 1}));
}

TEST(ScaledDotProduct, AlibiSlopesFollowThePaper) {
  // 8 heads: 2^-1, 2^-2, ..., 2^-8. 12 heads: the 8-head slopes, then 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5.
  const auto eight = alibi_slopes<double>(8).to_vector();
  for (int h = 0; h < 8; ++h) EXPECT_DOUBLE_EQ(eight[h], std::pow(2.0, -(h + 1)));
  const auto twelve = alibi_slopes<double>(12).to_vector();
  for (int h = 0; h < 8; ++h) EXPECT_DOUBLE_EQ(twelve[h], std::pow(2.0, -(h + 1)));
  for (int h = 0; h < 4; ++h) EXPECT_NEAR(twelve[8 + h], std::pow(2.0, -0.5 - h), 1e-15);
}

TEST(ScaledDotProduct, DropoutKeepsOneMinusPAndIsReproducible) {
  // 1e6 weights, all allowed, uniform: each kept weight is (1/M) / (1 - p).
  const int64_t n = 1000, m = 1000;
  AttentionOptions<float> o;
  o.dropout_p = 0.3;
  o.dropout_seed = 77;
  o.need_weights = true;
  const auto q = Tensor32::zeros({1, 1, n, 4}), k = Tensor32::zeros({1, 1, m, 4}), v = Tensor32::ones({1, 1, m, 1});
  const auto w = scaled_dot_product_attention(q, k, v, o).weights.to_vector();
  int64_t kept = 0;
  for (float x : w) kept += x != 0;
  EXPECT_NEAR(static_cast<double>(kept) / (n * m), 0.7, 0.01);
  EXPECT_NEAR(*std::max_element(w.begin(), w.end()), 1.0 / m / 0.7, 1e-9);
  EXPECT_EQ(w, scaled_dot_product_attention(q, k, v, o).weights.to_vector());
  o.dropout_seed = 78;
  EXPECT_NE(w, scaled_dot_product_attention(q, k, v, o).weights.to_vector());
}

// ---- misuse: at least 20 invalid shape/mask combinations, each with a clear message ----

TEST(ScaledDotProductMisuse, InvalidShapesAndMasksAreRejected) {
  const auto q = Tensor32::ones({2, 4, 3, 8}), k = Tensor32::ones({2, 2, 5, 8}), v = Tensor32::ones({2, 2, 5, 6});
  auto sdpa = [](const Tensor32& a, const Tensor32& b, const Tensor32& c, AttentionOptions<float> o = {}) {
    return scaled_dot_product_attention(a, b, c, o);
  };
  auto opts = [](std::function<void(AttentionOptions<float>&)> f) { return with<float>(f); };
  expect_error<Error>([&] { sdpa(Tensor32::ones({4, 3, 8}), k, v); }, {"(4, 3, 8)"});
  expect_error<Error>([&] { sdpa(q, Tensor32::ones({2, 2, 5}), v); }, {"(2, 2, 5)"});
  expect_error<Error>([&] { sdpa(q, k, Tensor32::ones({2, 5, 6})); }, {"(2, 5, 6)"});
  expect_error<Error>([&] { sdpa(q, Tensor32::ones({3, 2, 5, 8}), v); }, {"batch sizes differ"});
  expect_error<Error>([&] { sdpa(q, k, Tensor32::ones({1, 2, 5, 6})); }, {"batch sizes differ"});
  expect_error<Error>([&] { sdpa(q, Tensor32::ones({2, 2, 5, 7}), v); }, {"head dimension"});
  expect_error<Error>([&] { sdpa(q, k, Tensor32::ones({2, 2, 4, 6})); }, {"agree in H_kv and M"});
  expect_error<Error>([&] { sdpa(q, k, Tensor32::ones({2, 1, 5, 6})); }, {"agree in H_kv and M"});
  expect_error<Error>(
      [&] {
        sdpa(q, Tensor32::ones({2, 3, 5, 8}), Tensor32::ones({2, 3, 5, 6}));
      },
      {"multiple of key/value heads"});
  expect_error<Error>(
      [&] {
        sdpa(Tensor32::ones({2, 4, 3, 0}), Tensor32::ones({2, 2, 5, 0}), v);
      },
      {"pass an explicit scale"});
  expect_error<Error>([&] { sdpa(q, k, v, opts([](auto& o) {
                                   o.mask = MaskTensor::ones({3, 4});
                                 })); },
                      {"mask (3, 4)"});
  expect_error<Error>([&] { sdpa(q, k, v, opts([](auto& o) {
                                   o.mask = MaskTensor::ones({3, 2, 3, 5});
                                 })); },
                      {"(B, H, N, M) = (2, 4, 3, 5)"});
  expect_error<Error>([&] { sdpa(q, k, v, opts([](auto& o) {
                                   o.mask = MaskTensor::ones({1, 1, 1, 3, 5});
                                 })); },
                      {"(1, 1, 1, 3, 5)"});
  expect_error<Error>([&] { sdpa(q, k, v, opts([](auto& o) {
                                   o.additive_mask = Tensor32::ones({5, 3});
                                 })); },
                      {"additive_mask (5, 3)"});
  expect_error<Error>([&] { sdpa(q, k, v, opts([](auto& o) {
                                   o.key_padding_mask = MaskTensor::ones({2, 4});
                                 })); },
                      {"key_padding_mask (2, 4)"});
  expect_error<Error>([&] { sdpa(q, k, v, opts([](auto& o) { o.key_padding_mask = MaskTensor::ones({5}); })); },
                      {"key_padding_mask (5)"});
  expect_error<Error>([&] { sdpa(q, k, v, opts([](auto& o) { o.alibi_slopes = Tensor32::ones({2}); })); },
                      {"alibi_slopes (2)"});
  expect_error<Error>([&] { sdpa(q, k, v, opts([](auto& o) { o.softcap = -1; })); }, {"softcap"});
  expect_error<Error>([&] { sdpa(q, k, v, opts([](auto& o) { o.dropout_p = 1.0; })); }, {"dropout_p"});
  expect_error<Error>([&] { sdpa(q, k, v, opts([](auto& o) { o.window_left = -2; })); }, {"window sizes"});
  expect_error<Error>([&] { sdpa(q, k, v, opts([](auto& o) { o.scale = std::numeric_limits<double>::infinity(); })); },
                      {"scale must be finite"});
  expect_error<Error>([&] { alibi_slopes<float>(0); }, {"heads must be >= 1"});
}

}  // namespace
}  // namespace attend
