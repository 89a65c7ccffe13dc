#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

const std::vector<std::pair<Shape, int64_t>> kCases = {
    {{4, 7}, -1}, {{4, 7}, 0}, {{3, 5, 2}, 1}, {{33}, 0}, {{1}, 0}, {{2, 1}, 1}, {{0, 5}, 1}, {{2, 3, 17}, -1},
};

TEST(Softmax, Harness) {
  for (const auto& [shape, axis] : kCases) {
    EXPECT_OP_OK(make_case(fmt::format("softmax {} axis {}", shape_string(shape), axis), {InputSpec{shape}},
                           [axis](const auto& x) { return softmax(x[0], axis); }));
  }
}

TEST(LogSoftmax, Harness) {
  for (const auto& [shape, axis] : kCases) {
    EXPECT_OP_OK(make_case(fmt::format("log_softmax {} axis {}", shape_string(shape), axis), {InputSpec{shape}},
                           [axis](const auto& x) { return log_softmax(x[0], axis); }));
  }
}

TEST(Softmax, RowsSumToOneAndLargeLogitsDoNotOverflow) {
  const auto y = softmax(Tensor32::from_vector({2, 3}, {1e4f, 1e4f - 1, -1e4f, 0, 1, 2}), -1).to_vector();
  EXPECT_NEAR(y[0] + y[1] + y[2], 1.0, 1e-6);
  EXPECT_NEAR(y[0], 1 / (1 + std::exp(-1.0)), 1e-6);
  EXPECT_EQ(y[2], 0.0f);
  EXPECT_NEAR(y[3] + y[4] + y[5], 1.0, 1e-6);
}

TEST(Softmax, FullyMaskedRowGivesZerosAndZeroGradient) {
  const double inf = std::numeric_limits<double>::infinity();
  auto x = Tensor64::from_vector({2, 3}, {-inf, -inf, -inf, 0.0, 1.0, -inf});
  x.set_requires_grad();
  const auto y = softmax(x, -1);
  EXPECT_EQ(y.to_vector()[0], 0.0);
  EXPECT_EQ(y.to_vector()[2], 0.0);
  EXPECT_EQ(y.to_vector()[5], 0.0);
  sum(mul(y, Tensor64::from_vector({2, 3}, {1, 2, 3, 4, 5, 6}))).backward();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(x.grad().to_vector()[i], 0.0);
  const auto ly = log_softmax(Tensor64::from_vector({1, 2}, {-inf, -inf}), -1).to_vector();
  EXPECT_EQ(ly[0], -inf);
}

TEST(Softmax, NaNStaysInItsRow) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto y = softmax(Tensor64::from_vector({2, 2}, {nan, 1.0, 0.0, 1.0}), -1).to_vector();
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_FALSE(std::isnan(y[2]));
  EXPECT_NEAR(y[2] + y[3], 1.0, 1e-15);
  // NaN next to -inf only: not a masked row.
  const double inf = std::numeric_limits<double>::infinity();
  const auto z = softmax(Tensor64::from_vector({1, 2}, {nan, -inf}), -1).to_vector();
  EXPECT_TRUE(std::isnan(z[0]));
  EXPECT_TRUE(std::isnan(z[1]));
  EXPECT_TRUE(std::isnan(log_softmax(Tensor64::from_vector({1, 2}, {-inf, nan}), -1).to_vector()[0]));
}

}  // namespace
}  // namespace attend
