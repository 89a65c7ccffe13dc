// The attention pooling module (nn/attention_pooling.h) through the harness in both modes, against
// the functional form it calls (tests/attention/attention_pooling_test.cc), with fully padded
// batch rows, and its misuse.
#include "attend/nn/attention_pooling.h"

#include <gtest/gtest.h>

#include "attention/attention_pooling_cases.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/reduction.h"
#include "harness/expect_error.h"
#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

TEST(AttentionPooling, ModuleHarness) {
  for (PoolingMode mode : {PoolingMode::kLearnedQuery, PoolingMode::kAdditive}) {
    for (const testing::PoolingSizes& s : testing::kPoolingSizes) {
      const MaskTensor padding = testing::pooling_padding_mask(s.batch, s.length);
      const std::string what = mode == PoolingMode::kLearnedQuery ? "module learned query" : "module additive";
      const InputSpec x{{s.batch, s.length, s.dim}};
      EXPECT_OP_OK(make_case(testing::pooling_sizes_name(what, s), {x}, [mode, s, padding](const auto& in) {
        using T = typename std::decay_t<decltype(in[0])>::value_type;
        Generator generator(31);
        const nn::AttentionPooling<T> pooling(mode, s.dim, generator,
                                              mode == PoolingMode::kAdditive ? s.attention_dim : 0);
        return pooling.forward(in[0], padding).output;
      }));
    }
  }
}

TEST(AttentionPooling, FullyPaddedRowsGiveZerosAndZeroGradients) {
  for (PoolingMode mode : {PoolingMode::kLearnedQuery, PoolingMode::kAdditive}) {
    SCOPED_TRACE(mode == PoolingMode::kLearnedQuery ? "learned query" : "additive");
    Generator generator(3);
    const nn::AttentionPooling<double> pooling(mode, 4, generator, mode == PoolingMode::kAdditive ? 3 : 0);
    auto x = Tensor64::randn({2, 3, 4}, generator).set_requires_grad();
    const auto padding = MaskTensor::from_vector({2, 3}, {0, 1, 0, 1, 1, 1});
    const auto result = pooling.forward(x, padding);
    EXPECT_EQ(result.weights.at({0, 1}), 0.0);
    for (int64_t n = 0; n < 3; ++n) EXPECT_EQ(result.weights.at({1, n}), 0.0);
    EXPECT_NEAR(result.weights.at({0, 0}) + result.weights.at({0, 2}), 1.0, 1e-15);
    for (int64_t d = 0; d < 4; ++d) EXPECT_EQ(result.output.at({1, d}), 0.0);
    // A loss reading only the fully padded row has zero gradient everywhere.
    sum(mul(result.output, Tensor64::from_vector({2, 1}, {0, 1}))).backward();
    ASSERT_TRUE(x.grad().defined());
    for (double g : x.grad().to_vector()) EXPECT_EQ(g, 0.0);
    for (const auto& [name, parameter] : pooling.named_parameters()) {
      if (!parameter.grad().defined()) continue;
      for (double g : parameter.grad().to_vector()) EXPECT_EQ(g, 0.0) << name;
    }
  }
}

TEST(AttentionPooling, ModuleRegistersItsParametersAndCallsTheFunctionalForm) {
  Generator generator(5);
  const auto x = Tensor64::randn({2, 3, 4}, generator);
  const nn::AttentionPooling<double> learned(PoolingMode::kLearnedQuery, 4, generator);
  ASSERT_EQ(learned.named_parameters().size(), 1u);
  EXPECT_EQ(learned.named_parameters()[0].first, "query");
  EXPECT_EQ(learned.query().shape(), Shape({4}));
  EXPECT_EQ(learned.forward(x).output.to_vector(), learned_query_pooling(x, learned.query()).output.to_vector());

  const nn::AttentionPooling<double> additive(PoolingMode::kAdditive, 4, generator, 6);
  const auto names = additive.named_parameters();
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0].first, "weight");
  EXPECT_EQ(names[1].first, "bias");
  EXPECT_EQ(names[2].first, "score_weight");
  EXPECT_EQ(additive.parameter_count(), 6 * 4 + 6 + 6);
  EXPECT_EQ(additive.forward(x).output.to_vector(),
            additive_pooling(x, additive.weight(), additive.bias(), additive.score_weight()).output.to_vector());
}

// ---- misuse ----

TEST(AttentionPoolingMisuse, ModuleInputOfAnotherDim) {
  Generator generator(1);
  const nn::AttentionPooling<float> pooling(PoolingMode::kAdditive, 4, generator, 3);
  expect_error<ShapeError>(
      [&] {
        pooling.forward(Tensor32::ones({2, 3, 5}));
      },
      {"AttentionPooling", "(2, 3, 5)", "D = 4"});
}
TEST(AttentionPoolingMisuse, ModuleAttentionDimThatDoesNotFitTheMode) {
  Generator generator(1);
  expect_error<ValueError>([&] { nn::AttentionPooling<float>(PoolingMode::kLearnedQuery, 4, generator, 3); },
                           {"AttentionPooling", "attention_dim 3", "kAdditive"});
  expect_error<ValueError>([&] { nn::AttentionPooling<float>(PoolingMode::kAdditive, 4, generator); },
                           {"AttentionPooling", "attention_dim > 0", "got 0"});
  expect_error<ValueError>([&] { nn::AttentionPooling<float>(PoolingMode::kLearnedQuery, 0, generator); },
                           {"AttentionPooling", "dim must be positive", "got 0"});
}

}  // namespace
}  // namespace attend
