// The epilogues a linear layer computed without its bias hands its bias to: add_layer_norm
// (layer_norm((x + residual) + bias)) and bias_gelu (gelu(x + bias)). Through the op harness
// (float32 against float64, finite differences, every input's gradient), and bitwise equal to the
// unfused ops they replace, whose float adds they share; their shape errors.
#include <gtest/gtest.h>

#include "attend/ops/elementwise.h"
#include "attend/ops/normalization.h"
#include "harness/expect_error.h"
#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

TEST(AddLayerNorm, Harness) {
  for (const auto& [shape, normalized] : std::vector<std::pair<Shape, Shape>>{
           {{4, 7}, {7}}, {{2, 3, 5}, {5}}, {{2, 3, 5}, {3, 5}}, {{13, 40}, {40}}, {{0, 6}, {6}}, {{3, 1}, {1}}}) {
    auto op = make_case(
        fmt::format("add_layer_norm {} over {}", shape_string(shape), shape_string(normalized)),
        {InputSpec{shape}, InputSpec{shape}, InputSpec{normalized}, InputSpec{normalized}, InputSpec{normalized}},
        [normalized](const auto& x) { return add_layer_norm(x[0], x[1], x[2], normalized, x[3], x[4]); });
    op.max_nmse = 1e-9;
    EXPECT_OP_OK(op);
    auto no_addend =
        make_case(fmt::format("add_layer_norm no bias {}", shape_string(shape)), {InputSpec{shape}, InputSpec{shape}},
                  [normalized](const auto& x) { return add_layer_norm(x[0], x[1], {}, normalized); });
    no_addend.max_nmse = 1e-9;
    EXPECT_OP_OK(no_addend);
  }
}

TEST(AddLayerNorm, IsTheBitsOfAddThenLayerNorm) {
  Generator generator(3);
  // 37 rows: the fused op's scratch blocks of 8 rows end mid-tensor.
  const auto x = Tensor32::randn({37, 96}, generator), residual = Tensor32::randn({37, 96}, generator);
  const auto bias = Tensor32::randn({96}, generator), gamma = Tensor32::randn({96}, generator),
             beta = Tensor32::randn({96}, generator);
  const std::vector<float> fused = add_layer_norm(x, residual, bias, {96}, gamma, beta, 1e-12).to_vector();
  const std::vector<float> unfused = layer_norm(add(add(x, residual), bias), {96}, gamma, beta, 1e-12).to_vector();
  ASSERT_EQ(fused, unfused);
}

TEST(AddLayerNorm, RefusesMismatchedShapes) {
  const auto x = Tensor32::zeros({4, 6});
  expect_error<ShapeError>(
      [&] {
        add_layer_norm(x, Tensor32::zeros({4, 5}), {}, {6});
      },
      {"residual (4, 5) must have the shape of x (4, 6)"});
  expect_error<ShapeError>([&] { add_layer_norm(x, x, Tensor32::zeros({5}), {6}); },
                           {"added bias (5) must have normalized_shape (6)"});
  expect_error<ValueError>([&] { add_layer_norm(x, Tensor32(), {}, {6}); }, {"residual is undefined"});
}

TEST(BiasGelu, Harness) {
  for (const Shape& shape : std::vector<Shape>{{4, 7}, {2, 3, 33}, {0, 5}, {5, 1}}) {
    auto op = make_case(fmt::format("bias_gelu {}", shape_string(shape)), {InputSpec{shape}, InputSpec{{shape.back()}}},
                        [](const auto& x) { return bias_gelu(x[0], x[1]); });
    op.max_nmse = 1e-9;
    EXPECT_OP_OK(op);
  }
}

TEST(BiasGelu, IsTheBitsOfGeluOfAdd) {
  Generator generator(5);
  const auto x = Tensor32::randn({19, 101}, generator), bias = Tensor32::randn({101}, generator);  // vector tails
  ASSERT_EQ(bias_gelu(x, bias).to_vector(), gelu(add(x, bias)).to_vector());
  expect_error<ShapeError>([&] { bias_gelu(x, Tensor32::zeros({100})); }, {"bias (100) must be (D)", "(19, 101)"});
}

}  // namespace
}  // namespace attend
