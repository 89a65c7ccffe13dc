#include <gtest/gtest.h>

#include "attend/core/error.h"
#include "attend/core/shape.h"

namespace attend {
namespace {

TEST(Shape, StringAndNumel) {
  EXPECT_EQ(shape_string({2, 3, 4}), "(2, 3, 4)");
  EXPECT_EQ(shape_string({}), "()");
  EXPECT_EQ(shape_numel({2, 3, 4}), 24);
  EXPECT_EQ(shape_numel({}), 1);
  EXPECT_EQ(shape_numel({5, 0}), 0);
}

TEST(Shape, ContiguousStrides) {
  EXPECT_EQ(contiguous_strides({2, 3, 4}), (Strides{12, 4, 1}));
  EXPECT_EQ(contiguous_strides({}), (Strides{}));
}

TEST(Shape, Broadcast) {
  EXPECT_EQ(broadcast_shapes({4, 1, 5}, {3, 1}, "t"), (Shape{4, 3, 5}));
  EXPECT_EQ(broadcast_shapes({}, {2}, "t"), (Shape{2}));
  EXPECT_EQ(broadcast_shapes({0, 1}, {1, 3}, "t"), (Shape{0, 3}));
}

TEST(Shape, CheckedArithmetic) {
  EXPECT_THROW(shape_numel({1LL << 40, 1LL << 40}), ValueError);
  EXPECT_THROW(checked_add(INT64_MAX, 1), ValueError);
  EXPECT_EQ(checked_mul(1LL << 31, 1LL << 31), 1LL << 62);
}

TEST(Shape, NormalizeAxis) {
  EXPECT_EQ(normalize_axis(-1, 3, "t"), 2);
  EXPECT_EQ(normalize_axis(0, 3, "t"), 0);
  EXPECT_THROW(normalize_axis(3, 3, "t"), ValueError);
  EXPECT_THROW(normalize_axis(-4, 3, "t"), ValueError);
}

}  // namespace
}  // namespace attend
