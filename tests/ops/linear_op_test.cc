// ops::linear, the fused x @ W^T + b: against float64 and finite differences through the op
// harness (with and without bias, flattened leading axes, an inner size past BLIS's k-block so
// the bias is accumulated onto over several panels), equal to matmul + add, and shape errors.
#include <gtest/gtest.h>

#include "attend/ops/elementwise.h"
#include "harness/expect_error.h"
#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

TEST(LinearOp, Harness) {
  struct Case {
    Shape x, weight;
  };
  for (const Case& c : std::vector<Case>{{{5, 4}, {3, 4}},
                                         {{2, 3, 7}, {9, 7}},
                                         {{1, 1}, {1, 1}},
                                         {{6, 300}, {5, 300}},
                                         {{0, 4}, {2, 4}},
                                         {{3, 0}, {2, 0}}}) {
    const std::string shapes = shape_string(c.x) + " W " + shape_string(c.weight);
    auto with_bias = make_case("linear " + shapes, {InputSpec{c.x}, InputSpec{c.weight}, InputSpec{{c.weight[0]}}},
                               [](const auto& in) { return linear(in[0], in[1], in[2]); });
    with_bias.max_nmse = 1e-11;
    EXPECT_OP_OK(with_bias);
    auto without_bias = make_case("linear no bias " + shapes, {InputSpec{c.x}, InputSpec{c.weight}},
                                  [](const auto& in) { return linear(in[0], in[1]); });
    without_bias.max_nmse = 1e-11;
    EXPECT_OP_OK(without_bias);
  }
}

TEST(LinearOp, EqualsMatmulPlusBias) {
  Generator generator(4);
  const auto x = Tensor64::randn({4, 3, 6}, generator);
  const auto w = Tensor64::randn({5, 6}, generator);
  const auto b = Tensor64::randn({5}, generator);
  const auto fused = linear(x, w, b).to_vector();
  const auto reference = add(matmul(x, w.transpose(0, 1)), b).to_vector();
  ASSERT_EQ(fused.size(), reference.size());
  for (size_t i = 0; i < fused.size(); ++i) EXPECT_NEAR(fused[i], reference[i], 1e-13);
  EXPECT_EQ(linear(x, w, b).shape(), (Shape{4, 3, 5}));
  // k = 0: the bias alone.
  const auto empty = linear(Tensor64::zeros({2, 0}), Tensor64::zeros({3, 0}), Tensor64::from_vector({3}, {1, 2, 3}));
  EXPECT_EQ(empty.to_vector(), (std::vector<double>{1, 2, 3, 1, 2, 3}));
}

TEST(LinearOp, ShapeErrorsNameTheShapes) {
  expect_error<ShapeError>(
      [] {
        linear(Tensor32::zeros({2, 3}), Tensor32::zeros({4, 5}));
      },
      {"linear", "(2, 3)", "(4, 5)"});
  expect_error<ShapeError>(
      [] {
        linear(Tensor32::zeros({2, 3}), Tensor32::zeros({4, 3}), Tensor32::zeros({3}));
      },
      {"bias", "(3)", "(4, 3)"});
  expect_error<ShapeError>([] { linear(Tensor32::zeros({2, 3}), Tensor32::zeros({3})); }, {"weight", "(3)"});
}

}  // namespace
}  // namespace attend
