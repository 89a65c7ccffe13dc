// max_pool2d and avg_pool2d (ops/convolution.h) and their layers: the harness, float64 loop
// references, ties, NaN, padding semantics, thread invariance, misuse.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "attend/nn/pooling.h"
#include "harness/op_harness.h"
#include "harness/expect_error.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

struct PoolCase {
  Shape input;  // (B, C, H, W)
  Size2d kernel;
  Size2d stride;
  Size2d padding;
};

const std::vector<PoolCase> kPoolCases = {
    {{2, 3, 6, 6}, 2, 2, 0},            // the classic 2x2 / 2
    {{1, 2, 5, 7}, 3, {2, 1}, 1},       // odd sizes, padding, asymmetric stride
    {{1, 1, 4, 5}, {2, 3}, 1, {1, 1}},  // overlapping windows, rectangular kernel
    {{2, 1, 3, 3}, 3, 1, 1},            // every window touches the padding
    {{1, 2, 5, 5}, 5, 1, 0},            // one window: global pooling
    {{0, 2, 4, 4}, 2, 2, 0},            // empty batch
};

std::string describe(const char* op, const PoolCase& c) {
  return fmt::format("{} x{} kernel ({}, {}) stride ({}, {}) padding ({}, {})", op, shape_string(c.input),
                     c.kernel.height, c.kernel.width, c.stride.height, c.stride.width, c.padding.height,
                     c.padding.width);
}

// Pools in float64 loops. `max`: maximum with padding as -inf (first maximum wins); else the
// mean with divisor kH kW (count_include_pad) or the number of real pixels.
Tensor64 pool_reference(const Tensor64& x, const PoolCase& c, bool max, bool count_include_pad = true) {
  const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  const int64_t out_h = (height + 2 * c.padding.height - c.kernel.height) / c.stride.height + 1;
  const int64_t out_w = (width + 2 * c.padding.width - c.kernel.width) / c.stride.width + 1;
  Tensor64 out = Tensor64::zeros({batch, channels, out_h, out_w});
  int64_t o = 0;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t ch = 0; ch < channels; ++ch) {
      for (int64_t oh = 0; oh < out_h; ++oh) {
        for (int64_t ow = 0; ow < out_w; ++ow) {
          double best = -std::numeric_limits<double>::infinity(), total = 0;
          int64_t real = 0;
          for (int64_t i = 0; i < c.kernel.height; ++i) {
            for (int64_t j = 0; j < c.kernel.width; ++j) {
              const int64_t ih = oh * c.stride.height - c.padding.height + i;
              const int64_t iw = ow * c.stride.width - c.padding.width + j;
              if (ih < 0 || ih >= height || iw < 0 || iw >= width) continue;
              const double v = x.at({b, ch, ih, iw});
              best = std::max(best, v);
              total += v;
              ++real;
            }
          }
          const double divisor = count_include_pad ? static_cast<double>(c.kernel.height * c.kernel.width) : real;
          out.data()[o++] = max ? best : total / divisor;
        }
      }
    }
  }
  return out;
}

TEST(MaxPool2d, Harness) {
  for (const PoolCase& c : kPoolCases) {
    EXPECT_OP_OK(make_case(describe("max_pool2d", c), {InputSpec{c.input}},
                           [c](const auto& x) { return max_pool2d(x[0], c.kernel, c.stride, c.padding); }));
  }
}

TEST(AvgPool2d, Harness) {
  for (const PoolCase& c : kPoolCases) {
    for (bool include_pad : {true, false}) {
      EXPECT_OP_OK(make_case(
          describe("avg_pool2d", c) + (include_pad ? "" : " excluding padding"), {InputSpec{c.input}},
          [c, include_pad](const auto& x) { return avg_pool2d(x[0], c.kernel, c.stride, c.padding, include_pad); }));
    }
  }
}

TEST(Pool2d, MatchFloat64Loops) {
  Generator generator(21);
  for (const PoolCase& c : kPoolCases) {
    const auto x = Tensor64::randn(c.input, generator);
    EXPECT_EQ(max_pool2d(x, c.kernel, c.stride, c.padding).to_vector(), pool_reference(x, c, true).to_vector())
        << describe("max_pool2d", c);
    for (bool include_pad : {true, false}) {
      const auto got = avg_pool2d(x, c.kernel, c.stride, c.padding, include_pad).to_vector();
      const auto want = pool_reference(x, c, false, include_pad).to_vector();
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-14) << describe("avg_pool2d", c);
    }
  }
}

TEST(MaxPool2d, TiesSendTheGradientToTheFirstMaximum) {
  // All equal: each 3x3 window (stride 1) over a 4x4 plane picks its top-left pixel.
  Tensor64 x = Tensor64::full({1, 1, 4, 4}, 7.0).set_requires_grad(true);
  max_pool2d(x, 3, 1).backward(Tensor64::from_vector({1, 1, 2, 2}, {1, 2, 3, 4}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));

  // A tie inside one window, later pixels equal to the first: the first (row-major) wins.
  Tensor64 y = Tensor64::from_vector({1, 1, 2, 2}, {1, 5, 5, 5}).set_requires_grad(true);
  max_pool2d(y, 2).backward(Tensor64::ones({1, 1, 1, 1}));
  EXPECT_EQ(y.grad().to_vector(), (std::vector<double>{0, 1, 0, 0}));
}

TEST(MaxPool2d, OverlappingWindowsSharingAMaximumAddUp) {
  // The centre of a 3x3 plane is the maximum of all four 2x2 windows (stride 1).
  Tensor64 x = Tensor64::from_vector({1, 1, 3, 3}, {0, 0, 0, 0, 9, 0, 0, 0, 0}).set_requires_grad(true);
  const auto y = max_pool2d(x, 2, 1);
  EXPECT_EQ(y.to_vector(), (std::vector<double>{9, 9, 9, 9}));
  y.backward(Tensor64::from_vector({1, 1, 2, 2}, {1, 2, 3, 4}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{0, 0, 0, 0, 10, 0, 0, 0, 0}));
}

TEST(MaxPool2d, PaddingIsMinusInfinityAndNaNWins) {
  // Negative pixels: zero padding would win; -inf padding does not.
  const auto negative = Tensor64::full({1, 1, 2, 2}, -5.0);
  EXPECT_EQ(max_pool2d(negative, 3, 1, 1).to_vector(), (std::vector<double>{-5, -5, -5, -5}));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto x = Tensor64::from_vector({1, 1, 2, 4}, {1, nan, 3, 4, 5, 6, 7, 8});
  const auto y = max_pool2d(x, 2).to_vector();
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 8);
}

TEST(AvgPool2d, PaddingInTheMeanOrNot) {
  const auto ones = Tensor64::ones({1, 1, 2, 2});
  // Each 3x3 window at padding 1 holds the 4 real pixels.
  for (double v : avg_pool2d(ones, 3, 1, 1).to_vector()) EXPECT_DOUBLE_EQ(v, 4.0 / 9.0);
  for (double v : avg_pool2d(ones, 3, 1, 1, /*count_include_pad=*/false).to_vector()) EXPECT_DOUBLE_EQ(v, 1.0);
  // Backward with count_include_pad: every pixel is in all 4 windows, each sending 1/9.
  Tensor64 x = Tensor64::ones({1, 1, 2, 2}).set_requires_grad(true);
  avg_pool2d(x, 3, 1, 1).backward(Tensor64::ones({1, 1, 2, 2}));
  for (double g : x.grad().to_vector()) EXPECT_DOUBLE_EQ(g, 4.0 / 9.0);
}

TEST(Pool2d, ThreadCountDoesNotChangeBits) {
  Generator generator(8);
  const auto x = Tensor32::randn({4, 16, 24, 24}, generator);
  const auto probe = Tensor32::randn({4, 16, 12, 12}, generator);
  for (bool max : {true, false}) {
    std::vector<float> runs[2][2];
    for (int threads : {1, 2}) {
      ThreadCountGuard guard(threads);
      Tensor32 leaf = x.clone().detach().set_requires_grad(true);
      const auto y = max ? max_pool2d(leaf, 3, 2, 1) : avg_pool2d(leaf, 3, 2, 1);
      y.backward(probe);
      runs[threads - 1][0] = y.to_vector();
      runs[threads - 1][1] = leaf.grad().to_vector();
    }
    EXPECT_EQ(runs[0][0], runs[1][0]) << (max ? "max" : "avg") << " forward";
    EXPECT_EQ(runs[0][1], runs[1][1]) << (max ? "max" : "avg") << " backward";
  }
}

TEST(Pool2d, Layers) {
  Generator generator(2);
  const auto x = Tensor32::randn({2, 3, 7, 6}, generator);
  nn::MaxPool2d<float> max_layer(2);  // stride defaults to the kernel
  EXPECT_EQ(max_layer.parameter_count(), 0);
  const auto y = max_layer.forward(x);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 3, 3}));
  EXPECT_EQ(y.to_vector(), max_pool2d(x, 2, 2).to_vector());
  nn::AvgPool2d<float> avg_layer({3, 2}, Size2d{1, 2}, {1, 0}, /*count_include_pad=*/false);
  EXPECT_EQ(avg_layer.forward(x).to_vector(), avg_pool2d(x, {3, 2}, Size2d{1, 2}, {1, 0}, false).to_vector());
  EXPECT_TRUE(avg_layer.named_parameters().empty());
}

TEST(PoolMisuse, MaxPoolPaddingOverHalfTheKernel) {
  expect_error<ValueError>(
      [] {
        max_pool2d(Tensor32::ones({1, 1, 6, 6}), 3, 1, 2);
      },
      {"max_pool2d", "padding (2, 2)", "(3, 3)"});
}

TEST(PoolMisuse, AvgPoolOfARank3Input) {
  expect_error<ShapeError>(
      [] {
        avg_pool2d(Tensor32::ones({3, 4, 4}), 2);
      },
      {"avg_pool2d", "(3, 4, 4)", "(B, C, H, W)"});
}

TEST(PoolMisuse, KernelLargerThanTheImage) {
  expect_error<ShapeError>(
      [] {
        max_pool2d(Tensor32::ones({1, 2, 3, 8}), 4);
      },
      {"max_pool2d", "kernel (4, 4)", "(1, 2, 3, 8)"});
}

TEST(PoolMisuse, EmptyImageAndBadLayerStride) {
  expect_error<ShapeError>(
      [] {
        avg_pool2d(Tensor32::ones({1, 2, 0, 8}), 1);
      },
      {"avg_pool2d", "(1, 2, 0, 8)", "empty"});
  expect_error<ValueError>([] { nn::MaxPool2d<float>(2, Size2d{0, 1}); }, {"MaxPool2d", "stride (0, 1)"});
}

}  // namespace
}  // namespace attend
