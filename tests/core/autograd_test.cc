#include <gtest/gtest.h>

#include "attend/attend.h"

namespace attend {
namespace {

TEST(Autograd, ChainRuleOnASmallExpression) {
  // f(x, y) = sum(x * y + exp(x)); df/dx = y + exp(x), df/dy = x
  auto x = Tensor64::from_vector({3}, {0.5, -1.0, 2.0}).set_requires_grad();
  auto y = Tensor64::from_vector({3}, {3.0, 4.0, -5.0}).set_requires_grad();
  sum(add(mul(x, y), exp(x))).backward();
  for (int i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(x.grad().to_vector()[i], y.to_vector()[i] + std::exp(x.to_vector()[i]));
    EXPECT_DOUBLE_EQ(y.grad().to_vector()[i], x.to_vector()[i]);
  }
}

TEST(Autograd, GradientsAccumulateAcrossCallsUntilZeroed) {
  auto x = Tensor64::from_vector({2}, {1.0, 2.0}).set_requires_grad();
  sum(mul_scalar(x, 3.0)).backward();
  sum(mul_scalar(x, 3.0)).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{6, 6}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
  sum(x).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{1, 1}));
}

TEST(Autograd, ATensorUsedTwiceGetsBothContributions) {
  auto x = Tensor64::scalar(3.0).set_requires_grad();
  mul(x, x).backward();  // d(x^2)/dx = 6
  EXPECT_EQ(x.grad().item(), 6.0);
}

TEST(Autograd, LeafGradientsNeverAliasEachOtherOrTheSeed) {
  // add's backward hands the same gradient to both inputs, and the seed belongs to the caller:
  // each .grad must still be a buffer of its own (in-place updates such as clipping would
  // otherwise change several at once). A fresh, unshared gradient may be taken without a copy.
  auto a = Tensor64::ones({3}).set_requires_grad(), b = Tensor64::ones({3}).set_requires_grad();
  const auto seed = Tensor64::from_vector({3}, {1, 2, 3});
  add(a, b).backward(seed);
  EXPECT_FALSE(a.grad().shares_storage_with(b.grad()));
  EXPECT_FALSE(a.grad().shares_storage_with(seed));
  EXPECT_FALSE(b.grad().shares_storage_with(seed));
  auto leaf = Tensor64::ones({3}).set_requires_grad();
  leaf.backward(seed);  // a leaf's own backward: the seed itself
  EXPECT_FALSE(leaf.grad().shares_storage_with(seed));
  EXPECT_EQ(a.grad().to_vector(), (std::vector<double>{1, 2, 3}));
  auto c = Tensor64::ones({2, 2}).set_requires_grad();
  mul_scalar(c, 2.0).backward(Tensor64::ones({2, 2}));
  EXPECT_EQ(c.grad().to_vector(), (std::vector<double>{2, 2, 2, 2}));
}

TEST(Autograd, DiamondGraphRunsEachNodeOnce) {
  auto x = Tensor64::scalar(2.0).set_requires_grad();
  const auto a = exp(x);
  const auto b = mul(a, a);  // exp(2x)
  const auto c = add(b, a);  // exp(2x) + exp(x)
  c.backward();
  EXPECT_NEAR(x.grad().item(), 2 * std::exp(4.0) + std::exp(2.0), 1e-12);
}

TEST(Autograd, NoGradRecordsNothing) {
  auto x = Tensor64::ones({2}).set_requires_grad();
  Tensor64 y;
  {
    NoGradGuard guard;
    y = mul(x, x);
  }
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(grad_enabled());
  EXPECT_THROW(sum(y).backward(), AutogradError);
}

TEST(Autograd, DetachStopsTheGradient) {
  auto x = Tensor64::scalar(2.0).set_requires_grad();
  const auto y = add(mul(x, x), mul(x.detach(), x));  // d/dx = 2x + x_detached = 6
  y.backward();
  EXPECT_EQ(x.grad().item(), 6.0);
  EXPECT_TRUE(x.detach().shares_storage_with(x));
  EXPECT_FALSE(x.detach().requires_grad());
}

TEST(Autograd, GraphIsFreedAfterBackwardUnlessRetained) {
  auto x = Tensor64::scalar(2.0).set_requires_grad();
  const auto y = exp(x);
  const std::weak_ptr<Node<double>> node = y.grad_fn();
  y.backward(Tensor64(), /*retain_graph=*/true);
  y.backward();  // allowed once more: the first call kept the graph
  EXPECT_NEAR(x.grad().item(), 2 * std::exp(2.0), 1e-12);
  EXPECT_TRUE(node.lock()->released);
  EXPECT_TRUE(node.lock()->inputs.empty());  // saved tensors released
  EXPECT_THROW(y.backward(), AutogradError);
}

TEST(Autograd, TapeOrderHandlesGradientsFlowingIntoEarlierNodes) {
  // y is computed early, used late: it must receive all contributions before its own backward.
  auto x = Tensor64::from_vector({2}, {1.0, 2.0}).set_requires_grad();
  const auto y = mul_scalar(x, 2.0);
  const auto z = exp(mul_scalar(x, 0.5));
  const auto w = sum(add(mul(y, z), y));
  w.backward();
  // dw/dx = 2 z + 2 * 0.5 * y z / 2 ... computed directly: w = sum(2x e^{x/2} + 2x)
  for (int i = 0; i < 2; ++i) {
    const double v = x.to_vector()[i];
    EXPECT_NEAR(x.grad().to_vector()[i], 2 * std::exp(v / 2) + v * std::exp(v / 2) + 2, 1e-12);
  }
}

TEST(Autograd, CustomOpThroughRecordOp) {
  // A user-defined cube with its own backward.
  auto cube = [](const Tensor64& x) {
    const auto out = mul(mul(x.detach(), x.detach()), x.detach());
    return record_op<double>(
        "cube", out, {x}, [x](const Tensor64& g) { return std::vector<Tensor64>{mul(g, mul_scalar(mul(x, x), 3.0))}; });
  };
  auto x = Tensor64::scalar(2.0).set_requires_grad();
  cube(x).backward();
  EXPECT_EQ(x.grad().item(), 12.0);
}

TEST(Autograd, BackwardThroughViews) {
  auto x = Tensor64::from_vector({2, 3}, {1, 2, 3, 4, 5, 6}).set_requires_grad();
  sum(mul(x.transpose(0, 1).slice(0, 1, 3), Tensor64::from_vector({2, 2}, {1, 2, 3, 4}))).backward();
  // x^T rows 1..2 are x columns 1..2; the weights land transposed.
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{0, 1, 3, 0, 2, 4}));
}

}  // namespace
}  // namespace attend
