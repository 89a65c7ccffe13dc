#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputKind;
using testing::InputSpec;
using testing::make_case;

// Shape pairs covering equal shapes, broadcasting both ways, sizes 1, odd and non-multiples of
// the SIMD width, rank 0, and zero-size tensors.
const std::vector<std::pair<Shape, Shape>> kBinaryShapes = {
    {{7, 13}, {7, 13}}, {{4, 1, 5}, {3, 1}}, {{1}, {2, 3}}, {{17}, {17}},
    {{}, {3, 2}},       {{1}, {1}},          {{0, 3}, {3}}, {{2, 9}, {2, 1}},
};

template <typename F>
void expect_binary_op(const char* name, F f, InputKind b_kind = InputKind::kUniform) {
  for (const auto& [a, b] : kBinaryShapes) {
    auto op = make_case(fmt::format("{} {} {}", name, shape_string(a), shape_string(b)),
                        {InputSpec{a}, InputSpec{b, b_kind}}, f);
    EXPECT_OP_OK(op);
  }
}

const std::vector<Shape> kUnaryShapes = {{5, 7}, {1}, {33}, {}, {0, 4}, {2, 3, 5}};

template <typename F>
void expect_unary_op(const char* name, F f, InputKind kind = InputKind::kUniform) {
  for (const Shape& shape : kUnaryShapes) {
    auto op = make_case(fmt::format("{} {}", name, shape_string(shape)), {InputSpec{shape, kind}}, f);
    EXPECT_OP_OK(op);
  }
}

TEST(Elementwise, Add) {
  expect_binary_op("add", [](const auto& x) { return add(x[0], x[1]); });
}
TEST(Elementwise, Sub) {
  expect_binary_op("sub", [](const auto& x) { return sub(x[0], x[1]); });
}
TEST(Elementwise, Mul) {
  expect_binary_op("mul", [](const auto& x) { return mul(x[0], x[1]); });
}
TEST(Elementwise, Div) {
  expect_binary_op(
      "div", [](const auto& x) { return div(x[0], x[1]); }, InputKind::kPositive);
}
TEST(Elementwise, Operators) {
  expect_binary_op("operators", [](const auto& x) { return (x[0] + x[1]) * x[0] - x[1] / (exp(x[0]) + exp(x[1])); });
}

TEST(Elementwise, AddScalar) {
  expect_unary_op("add_scalar", [](const auto& x) {
    using T = typename std::decay_t<decltype(x[0])>::value_type;
    return add_scalar(x[0], T(0.75));
  });
}
TEST(Elementwise, MulScalar) {
  expect_unary_op("mul_scalar", [](const auto& x) {
    using T = typename std::decay_t<decltype(x[0])>::value_type;
    return mul_scalar(x[0], T(-1.5));
  });
}
TEST(Elementwise, Neg) {
  expect_unary_op("neg", [](const auto& x) { return neg(x[0]); });
}
TEST(Elementwise, Square) {
  expect_unary_op("square", [](const auto& x) { return square(x[0]); });
}
TEST(Elementwise, Sqrt) {
  expect_unary_op(
      "sqrt", [](const auto& x) { return sqrt(x[0]); }, InputKind::kPositive);
}
TEST(Elementwise, Exp) {
  expect_unary_op("exp", [](const auto& x) { return exp(x[0]); });
}
TEST(Elementwise, Log) {
  expect_unary_op(
      "log", [](const auto& x) { return log(x[0]); }, InputKind::kPositive);
}
TEST(Elementwise, Tanh) {
  expect_unary_op("tanh", [](const auto& x) { return tanh(x[0]); });
}
TEST(Elementwise, Sigmoid) {
  expect_unary_op("sigmoid", [](const auto& x) { return sigmoid(x[0]); });
}
TEST(Elementwise, Relu) {
  expect_unary_op(
      "relu", [](const auto& x) { return relu(x[0]); }, InputKind::kAwayFromZero);
}
TEST(Elementwise, Gelu) {
  expect_unary_op("gelu", [](const auto& x) { return gelu(x[0]); });
}

TEST(Elementwise, KnownValues) {
  const auto x = Tensor64::from_vector({4}, {-2.0, -0.5, 0.0, 3.0});
  EXPECT_EQ(relu(x).to_vector(), (std::vector<double>{0, 0, 0, 3}));
  const auto s = sigmoid(Tensor64::from_vector({3}, {-1000.0, 0.0, 1000.0})).to_vector();
  EXPECT_EQ(s[0], 0.0);
  EXPECT_EQ(s[1], 0.5);
  EXPECT_EQ(s[2], 1.0);
  // gelu(1) = Phi(1) = 0.841344746068543 (standard normal CDF at 1).
  EXPECT_NEAR(gelu(Tensor64::scalar(1.0)).item(), 0.841344746068543, 1e-15);
  const auto b = add(Tensor64::from_vector({2, 1}, {1, 2}), Tensor64::from_vector({3}, {10, 20, 30}));
  EXPECT_EQ(b.shape(), (Shape{2, 3}));
  EXPECT_EQ(b.to_vector(), (std::vector<double>{11, 21, 31, 12, 22, 32}));
}

TEST(Elementwise, NaNStaysNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const auto& y : {relu(Tensor64::scalar(nan)), gelu(Tensor64::scalar(nan)), sigmoid(Tensor64::scalar(nan)),
                        tanh(Tensor64::scalar(nan)), exp(Tensor64::scalar(nan))}) {
    EXPECT_TRUE(std::isnan(y.item()));
  }
}

}  // namespace
}  // namespace attend
