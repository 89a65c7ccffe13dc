#include <gtest/gtest.h>

#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

struct ReductionCase {
  Shape shape;
  std::vector<int64_t> axes;
  bool keepdim;
};

const std::vector<ReductionCase> kCases = {
    {{4, 7}, {1}, false},
    {{4, 7}, {0}, true},
    {{3, 5, 2}, {0, 2}, false},
    {{3, 5, 2}, {-1}, true},
    {{33}, {0}, false},
    {{1}, {0}, false},
    {{2, 3}, {}, false},
    {{0, 3}, {0}, false},
    {{2, 1, 3}, {1}, false},
    {{3, 4}, {0, 1}, true},
    // Leading axes of a contiguous tensor: summed down the columns in place, more than one block.
    {{9, 600}, {0}, false},
    {{3, 4, 300}, {0, 1}, true},
};

TEST(Reduction, SumOverAxes) {
  for (const auto& c : kCases) {
    auto op =
        make_case(fmt::format("sum {} axes {} keepdim {}", shape_string(c.shape), fmt::join(c.axes, ","), c.keepdim),
                  {InputSpec{c.shape}}, [c](const auto& x) { return sum(x[0], c.axes, c.keepdim); });
    EXPECT_OP_OK(op);
  }
}

TEST(Reduction, MeanOverAxes) {
  for (const auto& c : kCases) {
    if (shape_numel(c.shape) == 0) continue;  // mean over an empty extent is NaN by definition
    auto op = make_case(fmt::format("mean {} axes {}", shape_string(c.shape), fmt::join(c.axes, ",")),
                        {InputSpec{c.shape}}, [c](const auto& x) { return mean(x[0], c.axes, c.keepdim); });
    EXPECT_OP_OK(op);
  }
}

TEST(Reduction, SumAndMeanOfAll) {
  for (const Shape& shape : std::vector<Shape>{{5, 3}, {1}, {}, {2, 3, 4}}) {
    EXPECT_OP_OK(
        make_case("sum all " + shape_string(shape), {InputSpec{shape}}, [](const auto& x) { return sum(x[0]); }));
    EXPECT_OP_OK(
        make_case("mean all " + shape_string(shape), {InputSpec{shape}}, [](const auto& x) { return mean(x[0]); }));
  }
}

TEST(Reduction, SumTo) {
  EXPECT_OP_OK(make_case("sum_to (4,3,5)->(3,1)", {InputSpec{{4, 3, 5}}}, [](const auto& x) {
    return sum_to(x[0], {3, 1});
  }));
}

// Reducing leading axes reads the columns in place; the same sums of a transposed copy go through
// the row path. Both add in index order in double, so they must agree bit for bit.
TEST(Reduction, ColumnAndRowPathsGiveTheSameBits) {
  Generator generator(11);
  Tensor<float> x = Tensor<float>::randn({1000, 257}, generator);  // (N, E): a bias gradient's shape
  for (int64_t i = 0; i < x.numel(); i += 7) x.data()[i] *= 1e4f;  // mixed magnitudes: order matters
  const Tensor<float> columns = sum(x, {0});                       // column path
  const Tensor<float> rows = sum(x.transpose(0, 1), {1});          // row path on a strided view
  EXPECT_EQ(columns.to_vector(), rows.to_vector());
  EXPECT_EQ(sum(x.reshape({10, 100, 257}), {0, 1}).to_vector(), columns.to_vector());
}

TEST(Reduction, KnownValues) {
  const auto x = Tensor64::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(sum(x, {0}).to_vector(), (std::vector<double>{5, 7, 9}));
  EXPECT_EQ(sum(x, {1}, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(sum(x, {1}).to_vector(), (std::vector<double>{6, 15}));
  EXPECT_EQ(mean(x).item(), 3.5);
  EXPECT_EQ(max(x, 1).to_vector(), (std::vector<double>{3, 6}));
  EXPECT_EQ(sum(Tensor64::zeros({0, 3}), {0}).to_vector(), (std::vector<double>{0, 0, 0}));
}

}  // namespace
}  // namespace attend
