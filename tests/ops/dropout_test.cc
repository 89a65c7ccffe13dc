#include <gtest/gtest.h>

#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

TEST(Dropout, Harness) {
  for (const Shape& shape : std::vector<Shape>{{6, 7}, {1}, {33}, {0, 3}}) {
    EXPECT_OP_OK(make_case("dropout p=0.3 " + shape_string(shape), {InputSpec{shape}},
                           [](const auto& x) { return dropout(x[0], 0.3, 1234); }));
  }
}

TEST(Dropout, KeepsOneMinusPInExpectationAndScales) {
  const int64_t n = 1'000'000;
  const auto y = dropout(Tensor64::ones({n}), 0.25, 42).to_vector();
  int64_t kept = 0;
  for (double v : y) {
    if (v != 0) {
      EXPECT_DOUBLE_EQ(v, 1 / 0.75);
      ++kept;
    }
  }
  EXPECT_NEAR(static_cast<double>(kept) / n, 0.75, 0.01);
}

TEST(Dropout, ReproducibleBySeedAndIndependentOfThreads) {
  Generator generator(3);
  const auto x = Tensor32::randn({1000}, generator);
  std::vector<float> one, two;
  {
    ThreadCountGuard guard(1);
    one = dropout(x, 0.5, 99).to_vector();
  }
  {
    ThreadCountGuard guard(2);
    two = dropout(x, 0.5, 99).to_vector();
  }
  EXPECT_EQ(one, two);
  EXPECT_NE(one, dropout(x, 0.5, 100).to_vector());
}

TEST(Dropout, EvaluationAndZeroPAreIdentity) {
  const auto x = Tensor32::ones({10});
  EXPECT_EQ(dropout(x, 0.5, 1, false).to_vector(), x.to_vector());
  EXPECT_EQ(dropout(x, 0.0, 1).to_vector(), x.to_vector());
}

}  // namespace
}  // namespace attend
