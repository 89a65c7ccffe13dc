#include <gtest/gtest.h>

#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

TEST(LayerNorm, WithWeightAndBias) {
  for (const auto& [shape, normalized] : std::vector<std::pair<Shape, Shape>>{{{4, 7}, {7}},
                                                                              {{2, 3, 5}, {5}},
                                                                              {{2, 3, 5}, {3, 5}},
                                                                              {{1, 33}, {33}},
                                                                              {{3, 2}, {2}},
                                                                              {{0, 6}, {6}},
                                                                              {{3, 128}, {128}},
                                                                              {{2, 1}, {1}},
                                                                              {{2, 11}, {11}}}) {
    auto op = make_case(fmt::format("layer_norm {} over {}", shape_string(shape), shape_string(normalized)),
                        {InputSpec{shape}, InputSpec{normalized}, InputSpec{normalized}},
                        [normalized](const auto& x) { return layer_norm(x[0], normalized, x[1], x[2]); });
    op.max_nmse = 1e-9;
    EXPECT_OP_OK(op);
  }
}

TEST(LayerNorm, WithoutAffine) {
  auto op = make_case("layer_norm no affine", {InputSpec{{5, 9}}}, [](const auto& x) { return layer_norm(x[0], {9}); });
  op.max_nmse = 1e-9;
  EXPECT_OP_OK(op);
}

TEST(LayerNorm, KnownValues) {
  const auto y = layer_norm(Tensor64::from_vector({1, 4}, {1, 2, 3, 4}), {4}, Tensor64(), Tensor64(), 0.0).to_vector();
  // mean 2.5, variance 1.25
  const double s = 1 / std::sqrt(1.25);
  EXPECT_NEAR(y[0], -1.5 * s, 1e-15);
  EXPECT_NEAR(y[3], 1.5 * s, 1e-15);
}

}  // namespace
}  // namespace attend
