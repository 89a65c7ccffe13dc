// ops::linear_stacked, linear with weights stacked by rows and no copy of them: against float64
// and finite differences through the op harness (two and three blocks, with and without biases,
// flattened leading axes, an inner size past BLIS's k-block, empty products), equal to linear on
// the concatenated weights (the same bits forward where BLAS's bits do not depend on the call's
// shape), and its errors.
#include <gtest/gtest.h>

#include <cstring>

#include "attend/ops/matmul.h"
#include "attend/ops/shape_ops.h"
#include "harness/expect_error.h"
#include "harness/op_harness.h"
#include "kernels/blas_kernels.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

TEST(LinearStacked, Harness) {
  struct Case {
    Shape x;
    std::vector<int64_t> outs;
  };
  for (const Case& c : std::vector<Case>{
           {{5, 4}, {3, 2, 4}}, {{2, 3, 7}, {9, 1}}, {{6, 300}, {5, 7, 3}}, {{0, 4}, {2, 2}}, {{3, 0}, {2, 1}}}) {
    const int64_t in = c.x.back();
    std::vector<InputSpec> weights_and_biases;
    for (const int64_t out : c.outs) weights_and_biases.push_back(InputSpec{{out, in}});
    for (const int64_t out : c.outs) weights_and_biases.push_back(InputSpec{{out}});
    const size_t blocks = c.outs.size();
    std::vector<InputSpec> with_bias = {InputSpec{c.x}};
    with_bias.insert(with_bias.end(), weights_and_biases.begin(), weights_and_biases.end());
    auto op = make_case("linear_stacked " + shape_string(c.x), with_bias, [blocks](const auto& x) {
      using Tensor = std::decay_t<decltype(x[0])>;
      const std::vector<Tensor> weights(x.begin() + 1, x.begin() + 1 + blocks), biases(x.begin() + 1 + blocks, x.end());
      return linear_stacked(x[0], weights, biases);
    });
    op.max_nmse = 1e-11;
    EXPECT_OP_OK(op);
    std::vector<InputSpec> without_bias(with_bias.begin(), with_bias.begin() + 1 + blocks);
    auto no_bias = make_case("linear_stacked no bias " + shape_string(c.x), without_bias, [](const auto& x) {
      using Tensor = std::decay_t<decltype(x[0])>;
      return linear_stacked(x[0], std::vector<Tensor>(x.begin() + 1, x.end()));
    });
    no_bias.max_nmse = 1e-11;
    EXPECT_OP_OK(no_bias);
  }
}

TEST(LinearStacked, EqualsLinearOnTheConcatenatedWeights) {
  Generator generator(21);
  const auto x = Tensor32::randn({150, 2, 96}, generator);
  std::vector<Tensor32> weights, biases;
  for (const int64_t out : {64, 40, 64}) {
    weights.push_back(Tensor32::randn({out, 96}, generator));
    biases.push_back(Tensor32::randn({out}, generator));
  }
  const std::vector<float> stacked = linear_stacked(x, weights, biases).to_vector();  // (150, 2, 168)
  const std::vector<float> joined = linear(x, concat(weights, 0), concat(biases, 0)).to_vector();
  ASSERT_EQ(stacked.size(), joined.size());
  if (kernels::blas_bits_independent_of_call_shape()) {
    EXPECT_EQ(std::memcmp(stacked.data(), joined.data(), stacked.size() * sizeof(float)), 0);
  } else {
    for (size_t i = 0; i < stacked.size(); ++i) ASSERT_NEAR(stacked[i], joined[i], 1e-4) << i;
  }
}

TEST(LinearStacked, ErrorsNameTheShapes) {
  const auto x = Tensor32::zeros({2, 3});
  expect_error<ShapeError>(
      [&] {
        linear_stacked(x, {Tensor32::zeros({4, 3}), Tensor32::zeros({4, 5})});
      },
      {"weight 1 must be (out, 3)", "(4, 5)"});
  expect_error<ShapeError>([&] { linear_stacked(x, {Tensor32::zeros({4, 5})}); }, {"input (2, 3)", "in = 5"});
  expect_error<ShapeError>(
      [&] {
        linear_stacked(x, {Tensor32::zeros({4, 3}), Tensor32::zeros({2, 3})},
                       {Tensor32::zeros({4}), Tensor32::zeros({3})});
      },
      {"bias 1 (3) must be (out) = (2)"});
  expect_error<ValueError>(
      [&] {
        linear_stacked(x, {Tensor32::zeros({4, 3})}, {Tensor32::zeros({4}), Tensor32::zeros({4})});
      },
      {"2 biases for 1 weights"});
  expect_error<ValueError>([&] { linear_stacked(x, std::vector<Tensor32>{}); }, {"at least one weight"});
}

}  // namespace
}  // namespace attend
