// Score modules (nn/score_modules.h): the harness through each module, each module against the
// functional form it wraps (tests/attention/score_functions_test.cc), and gradients reaching
// every parameter.
#include "attend/nn/score_modules.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>

#include "attention/score_function_cases.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/reduction.h"
#include "harness/expect_error.h"
#include "harness/op_harness.h"
#include "nn/score_module_factory.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

// A module per score function, built from a fixed seed so float and double runs agree.
template <typename T>
std::shared_ptr<nn::ScoreFunction<T>> make_score_module(const std::string& kind, const testing::ScoreSizes& s) {
  return testing::make_score_module<T>(kind, s.query_dim, s.key_dim, s.attention_dim, 4.0, 11);
}

TEST(ScoreFunctionModules, Harness) {
  for (const std::string kind : {"dot", "scaled_dot", "general", "additive", "cosine"}) {
    const bool same_dim_only = kind == "dot" || kind == "scaled_dot" || kind == "cosine";
    for (const auto& sizes : {testing::kScoreSizes, testing::kMixedScoreSizes}) {
      for (const testing::ScoreSizes& s : sizes) {
        if (same_dim_only && s.query_dim != s.key_dim) continue;
        EXPECT_OP_OK(make_case(testing::score_sizes_name(kind.c_str(), s),
                               {InputSpec{{s.batch, s.queries, s.query_dim}, testing::InputKind::kAwayFromZero},
                                InputSpec{{s.batch, s.keys, s.key_dim}, testing::InputKind::kAwayFromZero}},
                               [kind, s](const auto& x) {
                                 using T = typename std::decay_t<decltype(x[0])>::value_type;
                                 return make_score_module<T>(kind, s)->scores(x[0], x[1]);
                               }));
      }
    }
  }
}

TEST(ScoreFunctionModules, CallTheFunctionalFormWithTheirParameters) {
  Generator generator(5);
  const auto q = Tensor64::randn({2, 3, 5}, generator);
  const auto k = Tensor64::randn({2, 4, 6}, generator);
  const auto k_same = Tensor64::randn({2, 4, 5}, generator);

  nn::GeneralScore<double> general(5, 6, generator);
  ASSERT_EQ(general.named_parameters().size(), 1u);
  EXPECT_EQ(general.named_parameters()[0].first, "weight");
  EXPECT_EQ(general.weight().shape(), Shape({5, 6}));
  EXPECT_EQ(general.scores(q, k).to_vector(), general_scores(q, k, general.weight()).to_vector());

  nn::AdditiveScore<double> additive(5, 6, 7, generator);
  const auto names = additive.named_parameters();
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0].first, "query_weight");
  EXPECT_EQ(names[1].first, "key_weight");
  EXPECT_EQ(names[2].first, "score_weight");
  EXPECT_EQ(additive.parameter_count(), 5 * 7 + 6 * 7 + 7);
  EXPECT_EQ(additive.scores(q, k).to_vector(),
            additive_scores(q, k, additive.query_weight(), additive.key_weight(), additive.score_weight()).to_vector());

  nn::CosineScore<double> cosine(10.0);
  EXPECT_NEAR(cosine.log_temperature().item(), std::log(10.0), 1e-15);
  EXPECT_EQ(cosine.scores(q, k_same).to_vector(), cosine_scores(q, k_same, cosine.log_temperature()).to_vector());
  EXPECT_EQ(nn::DotScore<double>().scores(q, k_same).to_vector(), dot_scores(q, k_same).to_vector());
  EXPECT_EQ(nn::ScaledDotScore<double>().scores(q, k_same).to_vector(), scaled_dot_scores(q, k_same).to_vector());
  EXPECT_EQ(nn::DotScore<double>().parameter_count(), 0);
}

TEST(ScoreFunctionModules, BackwardReachesEveryParameter) {
  const testing::ScoreSizes s{2, 3, 4, 5, 6, 7};
  for (const std::string kind : {"general", "additive", "cosine"}) {
    SCOPED_TRACE(kind);
    Generator generator(9);
    const testing::ScoreSizes sizes = kind == "cosine" ? testing::ScoreSizes{2, 3, 4, 5, 5, 7} : s;
    const auto module = make_score_module<double>(kind, sizes);
    const auto q = Tensor64::randn({2, 3, sizes.query_dim}, generator);
    const auto k = Tensor64::randn({2, 4, sizes.key_dim}, generator);
    sum(mul(module->scores(q, k), Tensor64::randn({2, 3, 4}, generator))).backward();
    for (const auto& [name, parameter] : module->named_parameters()) {
      ASSERT_TRUE(parameter.grad().defined()) << name;
      double norm = 0;
      for (double g : parameter.grad().to_vector()) norm += g * g;
      EXPECT_GT(norm, 0.0) << name;
    }
  }
}

// ---- misuse ----

TEST(ScoreFunctionsMisuse, ModuleGetsInputsOfTheWrongFeatureSize) {
  Generator generator(1);
  nn::GeneralScore<float> general(4, 6, generator);
  expect_error<ShapeError>(
      [&] {
        general.scores(Tensor32::ones({2, 3, 4}), Tensor32::ones({2, 5, 7}));
      },
      {"general_scores", "weight (4, 6)", "(2, 5, 7)"});
}
TEST(ScoreFunctionsMisuse, ModuleSizesThatAreNotPositive) {
  Generator generator(1);
  expect_error<ValueError>([&] { nn::GeneralScore<float>(0, 3, generator); }, {"GeneralScore", "0 and 3"});
  expect_error<ValueError>([&] { nn::AdditiveScore<double>(2, 3, -1, generator); }, {"AdditiveScore", "2, 3 and -1"});
  expect_error<ValueError>([] { nn::CosineScore<float>(0.0); }, {"CosineScore", "initial_temperature", "0"});
}

}  // namespace
}  // namespace attend
