#include <gtest/gtest.h>

#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

TEST(Embedding, Harness) {
  // Repeated ids exercise the accumulation in backward.
  const auto ids = IndexTensor::from_vector({2, 3}, {4, 0, 4, 1, 6, 4});
  EXPECT_OP_OK(make_case("embedding (7,5) ids (2,3)", {InputSpec{{7, 5}}},
                         [ids](const auto& x) { return embedding(x[0], ids); }));
  const auto one = IndexTensor::from_vector({1}, {0});
  EXPECT_OP_OK(
      make_case("embedding (1,1)", {InputSpec{{1, 1}}}, [one](const auto& x) { return embedding(x[0], one); }));
  const auto none = IndexTensor::zeros({0});
  EXPECT_OP_OK(
      make_case("embedding no ids", {InputSpec{{3, 4}}}, [none](const auto& x) { return embedding(x[0], none); }));
}

TEST(Embedding, KnownValues) {
  const auto w = Tensor64::from_vector({3, 2}, {0, 1, 10, 11, 20, 21});
  const auto y = embedding(w, IndexTensor::from_vector({2}, {2, 0}));
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(y.to_vector(), (std::vector<double>{20, 21, 0, 1}));
}

TEST(IndexSelect, Harness) {
  const auto idx = IndexTensor::from_vector({4}, {2, 0, 2, 1});
  for (int64_t axis : {0, 1, 2}) {
    EXPECT_OP_OK(make_case(fmt::format("index_select axis {}", axis), {InputSpec{{3, 3, 3}}},
                           [idx, axis](const auto& x) { return index_select(x[0], axis, idx); }));
  }
}

TEST(Gather, Harness) {
  // index (2, 3) into x (3, 4) along axis 1, with repeats; and along axis 0.
  const auto idx1 = IndexTensor::from_vector({2, 3}, {3, 0, 3, 1, 1, 2});
  EXPECT_OP_OK(
      make_case("gather axis 1", {InputSpec{{3, 4}}}, [idx1](const auto& x) { return gather(x[0], 1, idx1); }));
  const auto idx0 = IndexTensor::from_vector({2, 2}, {2, 0, 1, 2});
  EXPECT_OP_OK(
      make_case("gather axis 0", {InputSpec{{3, 4}}}, [idx0](const auto& x) { return gather(x[0], 0, idx0); }));
  const auto idx3 = IndexTensor::from_vector({2, 1, 2}, {1, 0, 0, 0});
  EXPECT_OP_OK(make_case("gather rank 3 axis 2", {InputSpec{{2, 3, 2}}},
                         [idx3](const auto& x) { return gather(x[0], 2, idx3); }));
}

TEST(Gather, KnownValues) {
  const auto x = Tensor64::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  const auto y = gather(x, 1, IndexTensor::from_vector({2, 2}, {2, 0, 1, 1}));
  EXPECT_EQ(y.to_vector(), (std::vector<double>{3, 1, 5, 5}));
}

}  // namespace
}  // namespace attend
