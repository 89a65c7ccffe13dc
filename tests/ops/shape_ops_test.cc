#include <gtest/gtest.h>

#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

TEST(Concat, Harness) {
  EXPECT_OP_OK(make_case("concat axis 1", {InputSpec{{2, 3}}, InputSpec{{2, 1}}, InputSpec{{2, 5}}},
                         [](const auto& x) { return concat(x, 1); }));
  EXPECT_OP_OK(make_case("concat axis 0 with empty", {InputSpec{{0, 4}}, InputSpec{{3, 4}}},
                         [](const auto& x) { return concat(x, 0); }));
  EXPECT_OP_OK(make_case("concat single", {InputSpec{{7}}}, [](const auto& x) { return concat(x, 0); }));
}

TEST(Split, HarnessThroughConcatOfScaledPieces) {
  // split returns views; scaling each piece differently makes every gradient path visible.
  EXPECT_OP_OK(make_case("split (5,6) into 2,1,3 along 1", {InputSpec{{5, 6}}}, [](const auto& x) {
    using T = typename std::decay_t<decltype(x[0])>::value_type;
    auto pieces = split(x[0], {2, 1, 3}, 1);
    return concat(std::vector<Tensor<T>>{mul_scalar(pieces[2], T(3)), pieces[0], mul_scalar(pieces[1], T(-2))}, 1);
  }));
}

TEST(Stack, Harness) {
  for (int64_t axis : {0, 1, 2}) {
    EXPECT_OP_OK(make_case(fmt::format("stack axis {}", axis), {InputSpec{{2, 3}}, InputSpec{{2, 3}}},
                           [axis](const auto& x) { return stack(x, axis); }));
  }
}

TEST(Views, Harness) {
  EXPECT_OP_OK(make_case("reshape", {InputSpec{{4, 6}}}, [](const auto& x) { return x[0].reshape({2, -1, 3}); }));
  EXPECT_OP_OK(make_case("permute", {InputSpec{{2, 3, 4}}}, [](const auto& x) {
    return x[0].permute({2, 0, 1}).contiguous();
  }));
  EXPECT_OP_OK(make_case("slice step 2", {InputSpec{{9, 4}}}, [](const auto& x) { return x[0].slice(0, 1, -1, 2); }));
  EXPECT_OP_OK(make_case("expand", {InputSpec{{3, 1}}}, [](const auto& x) {
    return x[0].expand({2, 3, 4}).contiguous();
  }));
  EXPECT_OP_OK(make_case("unsqueeze squeeze", {InputSpec{{3, 4}}},
                         [](const auto& x) { return x[0].unsqueeze(1).transpose(0, 1).squeeze(0).transpose(0, 1); }));
}

TEST(Concat, KnownValues) {
  const auto y =
      concat(std::vector<Tensor64>{Tensor64::from_vector({1, 2}, {1, 2}), Tensor64::from_vector({1, 1}, {3})}, 1);
  EXPECT_EQ(y.to_vector(), (std::vector<double>{1, 2, 3}));
  const auto s =
      stack(std::vector<Tensor64>{Tensor64::from_vector({2}, {1, 2}), Tensor64::from_vector({2}, {3, 4})}, 1);
  EXPECT_EQ(s.shape(), (Shape{2, 2}));
  EXPECT_EQ(s.to_vector(), (std::vector<double>{1, 3, 2, 4}));
}

}  // namespace
}  // namespace attend
