// nn::LayerNorm: PyTorch's parameters and defaults, float64 loops, the harness on the functional
// form with every parameter, finite differences over the module, misuse.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "attend/nn/layer_norm.h"
#include "harness/module_gradcheck.h"
#include "harness/op_harness.h"
#include "harness/expect_error.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

TEST(LayerNormModule, ParametersAndDefaults) {
  nn::LayerNorm<float> norm({3, 4});
  const auto named = norm.named_parameters();
  ASSERT_EQ(named.size(), 2u);
  EXPECT_EQ(named[0].first, "weight");
  EXPECT_EQ(named[1].first, "bias");
  EXPECT_EQ(norm.weight().to_vector(), std::vector<float>(12, 1.0f));
  EXPECT_EQ(norm.bias().to_vector(), std::vector<float>(12, 0.0f));
  EXPECT_EQ(norm.parameter_count(), 24);
  EXPECT_EQ(norm.eps(), 1e-5);
  EXPECT_EQ(nn::LayerNorm<float>({4}, 1e-5, /*elementwise_affine=*/false).parameter_count(), 0);
  nn::LayerNorm<float> weight_only({4}, 1e-5, true, /*bias=*/false);
  ASSERT_EQ(weight_only.named_parameters().size(), 1u);
  EXPECT_FALSE(weight_only.bias().defined());
}

TEST(LayerNormModule, MatchesFloat64Loops) {
  Generator generator(6);
  nn::LayerNorm<double> norm({3, 4}, 1e-3);
  Tensor64 weight = norm.weight(), bias = norm.bias();  // handles on the parameters
  weight.copy_from(Tensor64::randn({3, 4}, generator));
  bias.copy_from(Tensor64::randn({3, 4}, generator));
  const auto x = Tensor64::randn({2, 5, 3, 4}, generator);
  const auto got = norm.forward(x).to_vector();
  const auto xs = x.to_vector(), w = norm.weight().to_vector(), b = norm.bias().to_vector();
  for (int64_t row = 0; row < 10; ++row) {
    double mean = 0, variance = 0;
    for (int64_t i = 0; i < 12; ++i) mean += xs[row * 12 + i] / 12;
    for (int64_t i = 0; i < 12; ++i) variance += (xs[row * 12 + i] - mean) * (xs[row * 12 + i] - mean) / 12;
    for (int64_t i = 0; i < 12; ++i) {
      const double want = (xs[row * 12 + i] - mean) / std::sqrt(variance + 1e-3) * w[i] + b[i];
      EXPECT_NEAR(got[row * 12 + i], want, 1e-12) << "row " << row << " element " << i;
    }
  }
}

TEST(LayerNormModule, HarnessOnTheFunctionalFormWithItsParameters) {
  auto op = make_case("layer_norm (2,3,4) over (3,4), eps 1e-3",
                      {InputSpec{{2, 3, 4}}, InputSpec{{3, 4}}, InputSpec{{3, 4}}}, [](const auto& x) {
                        return layer_norm(x[0], {3, 4}, x[1], x[2], 1e-3);
                      });
  op.max_nmse = 1e-9;
  EXPECT_OP_OK(op);
}

TEST(LayerNormModule, GradientsByFiniteDifferences) {
  Generator generator(7);
  nn::LayerNorm<double> norm({5});
  Tensor64 weight = norm.weight(), bias = norm.bias();  // handles on the parameters
  weight.copy_from(Tensor64::randn({5}, generator));
  bias.copy_from(Tensor64::randn({5}, generator));
  const auto x = Tensor64::randn({3, 5}, generator);
  const auto probe = Tensor64::randn({3, 5}, generator);
  EXPECT_EQ(testing::check_parameter_gradients(norm, [&] { return sum(mul(norm.forward(x), probe)); }), "");
}

TEST(LayerNormModuleMisuse, InputThatDoesNotEndWithTheShape) {
  nn::LayerNorm<float> norm({4});
  expect_error<ShapeError>([&] { norm.forward(Tensor32::ones({2, 5})); }, {"layer_norm", "(2, 5)", "(4)"});
}

TEST(LayerNormModuleMisuse, EmptyShapeOrNegativeEps) {
  expect_error<ShapeError>([] { nn::LayerNorm<float>({3, 0}); }, {"LayerNorm", "(3, 0)"});
  expect_error<ValueError>([] { nn::LayerNorm<float>({3}, -1.0); }, {"LayerNorm", "eps", "-1"});
}

}  // namespace
}  // namespace attend
