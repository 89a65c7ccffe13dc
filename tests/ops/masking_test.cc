#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

TEST(MaskedFill, Harness) {
  const auto mask = MaskTensor::from_vector({3, 1}, {1, 0, 1});
  EXPECT_OP_OK(make_case("masked_fill (2,3,4) by (3,1)", {InputSpec{{2, 3, 4}}},
                         [mask](const auto& x) { return masked_fill(x[0], mask, 0.25); }));
  const auto full = MaskTensor::from_vector({5}, {0, 1, 1, 0, 0});
  EXPECT_OP_OK(
      make_case("masked_fill (5)", {InputSpec{{5}}}, [full](const auto& x) { return masked_fill(x[0], full, -7.0); }));
}

TEST(MaskedFill, KnownValuesAndShapeCheck) {
  const auto y = masked_fill(Tensor64::from_vector({2, 2}, {1, 2, 3, 4}), MaskTensor::from_vector({2}, {0, 1}), -1.0);
  EXPECT_EQ(y.to_vector(), (std::vector<double>{1, -1, 3, -1}));
  EXPECT_THROW(masked_fill(Tensor64::ones({2}), MaskTensor::ones({2, 2}), 0.0), ShapeError);
}

TEST(LogSumExp, Harness) {
  for (const auto& [shape, axis] :
       std::vector<std::pair<Shape, int64_t>>{{{4, 7}, -1}, {{4, 7}, 0}, {{3, 5, 2}, 1}, {{1}, 0}}) {
    for (bool keepdim : {false, true}) {
      EXPECT_OP_OK(make_case(fmt::format("logsumexp {} axis {} keepdim {}", shape_string(shape), axis, keepdim),
                             {InputSpec{shape}},
                             [axis, keepdim](const auto& x) { return logsumexp(x[0], axis, keepdim); }));
    }
  }
}

TEST(LogSumExp, KnownValuesMaskedRowsAndLargeLogits) {
  const double inf = std::numeric_limits<double>::infinity();
  const auto y = logsumexp(Tensor64::from_vector({3, 2}, {0.0, std::log(3.0), -inf, -inf, 1e4, 1e4}), -1).to_vector();
  EXPECT_NEAR(y[0], std::log(4.0), 1e-15);
  EXPECT_EQ(y[1], -inf);
  EXPECT_NEAR(y[2], 1e4 + std::log(2.0), 1e-9);
}

}  // namespace
}  // namespace attend
