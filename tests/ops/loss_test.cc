#include <gtest/gtest.h>

#include <cmath>

#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

TEST(CrossEntropy, Harness) {
  const auto targets = IndexTensor::from_vector({5}, {2, 0, 6, 6, 1});
  EXPECT_OP_OK(make_case("cross_entropy (5,7)", {InputSpec{{5, 7}}},
                         [targets](const auto& x) { return cross_entropy(x[0], targets); }));
  const auto with_ignored = IndexTensor::from_vector({2, 3}, {1, -100, 3, 0, -100, 2});
  CrossEntropyOptions smoothing;
  smoothing.label_smoothing = 0.1;
  EXPECT_OP_OK(
      make_case("cross_entropy (2,3,4) ignore + smoothing", {InputSpec{{2, 3, 4}}},
                [with_ignored, smoothing](const auto& x) { return cross_entropy(x[0], with_ignored, smoothing); }));
  CrossEntropyOptions ignore_zero;
  ignore_zero.ignore_index = 0;
  const auto one = IndexTensor::from_vector({1}, {0});
  EXPECT_OP_OK(make_case("cross_entropy single class", {InputSpec{{1, 1}}},
                         [](const auto& x) { return cross_entropy(x[0], IndexTensor::from_vector({1}, {0})); }));
}

TEST(CrossEntropy, KnownValues) {
  // Uniform logits over 4 classes: loss = log 4, with or without smoothing.
  const auto logits = Tensor64::zeros({2, 4});
  const auto targets = IndexTensor::from_vector({2}, {1, 3});
  EXPECT_NEAR(cross_entropy(logits, targets).item(), std::log(4.0), 1e-15);
  CrossEntropyOptions smoothing;
  smoothing.label_smoothing = 0.2;
  EXPECT_NEAR(cross_entropy(logits, targets, smoothing).item(), std::log(4.0), 1e-15);
  // Logits (0, log 3): p = (1/4, 3/4); smoothing 0.5 over 2 classes, target 1:
  // -(0.5 + 0.25) log(3/4) - 0.25 log(1/4).
  const auto l2 = Tensor64::from_vector({1, 2}, {0.0, std::log(3.0)});
  const double expected = -0.75 * std::log(0.75) - 0.25 * std::log(0.25);
  smoothing.label_smoothing = 0.5;
  EXPECT_NEAR(cross_entropy(l2, IndexTensor::from_vector({1}, {1}), smoothing).item(), expected, 1e-15);
}

TEST(CrossEntropy, AllIgnoredGivesZeroNotNaN) {
  auto logits = Tensor64::ones({2, 3});
  logits.set_requires_grad();
  const auto loss = cross_entropy(logits, IndexTensor::from_vector({2}, {-100, -100}));
  EXPECT_EQ(loss.item(), 0.0);
  loss.backward();
  for (double g : logits.grad().to_vector()) EXPECT_EQ(g, 0.0);
}

TEST(MseLoss, Harness) {
  for (const Shape& shape : std::vector<Shape>{{4, 5}, {1}, {17}}) {
    EXPECT_OP_OK(make_case("mse " + shape_string(shape), {InputSpec{shape}, InputSpec{shape}},
                           [](const auto& x) { return mse_loss(x[0], x[1]); }));
  }
  EXPECT_EQ(mse_loss(Tensor64::from_vector({2}, {1, 2}), Tensor64::from_vector({2}, {3, 2})).item(), 2.0);
}

}  // namespace
}  // namespace attend
