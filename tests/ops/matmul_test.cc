#include <gtest/gtest.h>

#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

TEST(Matmul, Shapes) {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 4}, {4, 5}},    {{1, 1}, {1, 1}},          {{7, 17}, {17, 9}}, {{2, 3, 4}, {2, 4, 5}}, {{2, 3, 4}, {4, 5}},
      {{4, 5}, {3, 5, 2}}, {{2, 1, 3, 4}, {5, 4, 2}}, {{3, 0}, {0, 4}},   {{0, 3}, {3, 2}},       {{1, 33}, {33, 1}},
  };
  for (const auto& [a, b] : shapes) {
    auto op = make_case(fmt::format("matmul {} @ {}", shape_string(a), shape_string(b)), {InputSpec{a}, InputSpec{b}},
                        [](const auto& x) { return matmul(x[0], x[1]); });
    op.max_nmse = 1e-11;
    EXPECT_OP_OK(op);
  }
}

TEST(Matmul, TransposedViewsGoToBlasWithoutCopy) {
  // (a^T)^T @ b^T through views: same answer as the contiguous product.
  auto op = make_case("matmul of transposed views", {InputSpec{{5, 3}}, InputSpec{{4, 5}}},
                      [](const auto& x) { return matmul(x[0].transpose(0, 1), x[1].transpose(0, 1)); });
  EXPECT_OP_OK(op);
}

TEST(Matmul, KnownValues) {
  const auto a = Tensor64::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  const auto b = Tensor64::from_vector({3, 2}, {7, 8, 9, 10, 11, 12});
  EXPECT_EQ(matmul(a, b).to_vector(), (std::vector<double>{58, 64, 139, 154}));
  const auto c = matmul(Tensor32::ones({2, 3, 0}), Tensor32::ones({0, 4}));
  EXPECT_EQ(c.shape(), (Shape{2, 3, 4}));
  for (float v : c.to_vector()) EXPECT_EQ(v, 0.0f);
}

TEST(Matmul, LargeProductMatchesDoubleReference) {
  Generator generator(7);
  const auto a = Tensor64::randn({64, 300}, generator);
  const auto b = Tensor64::randn({300, 48}, generator);
  const auto ref = matmul(a, b).to_vector();
  const auto got = matmul(a.cast<float>(), b.cast<float>()).to_vector();
  bool mismatch = false;
  const double nmse = testing::normalized_mse(std::vector<double>(got.begin(), got.end()), ref, &mismatch);
  EXPECT_FALSE(mismatch);
  EXPECT_LT(nmse, 1e-12);
}

}  // namespace
}  // namespace attend
