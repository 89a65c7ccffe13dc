// conv2d and im2col (ops/convolution.h) and the Conv2d layer: the harness on every parameter,
// float64 loop references, thread invariance on inputs large enough to split, misuse.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "attend/nn/conv2d.h"
#include "harness/module_gradcheck.h"
#include "harness/op_harness.h"
#include "harness/expect_error.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

// The definition, in float64 loops: out[b, o, oh, ow] = bias[o] + sum_{c, i, j} w[o, c, i, j] x[b, c, ih, iw].
Tensor64 conv2d_reference(const Tensor64& x, const Tensor64& w, const Tensor64& bias, Size2d stride, Size2d padding) {
  const int64_t batch = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  const int64_t out_channels = w.size(0), kh = w.size(2), kw = w.size(3);
  const int64_t out_h = (height + 2 * padding.height - kh) / stride.height + 1;
  const int64_t out_w = (width + 2 * padding.width - kw) / stride.width + 1;
  Tensor64 out = Tensor64::zeros({batch, out_channels, out_h, out_w});
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t o = 0; o < out_channels; ++o) {
      for (int64_t oh = 0; oh < out_h; ++oh) {
        for (int64_t ow = 0; ow < out_w; ++ow) {
          double total = bias.defined() ? bias.at({o}) : 0.0;
          for (int64_t c = 0; c < channels; ++c) {
            for (int64_t i = 0; i < kh; ++i) {
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t ih = oh * stride.height - padding.height + i;
                const int64_t iw = ow * stride.width - padding.width + j;
                if (ih >= 0 && ih < height && iw >= 0 && iw < width) total += w.at({o, c, i, j}) * x.at({b, c, ih, iw});
              }
            }
          }
          out.data()[((b * out_channels + o) * out_h + oh) * out_w + ow] = total;
        }
      }
    }
  }
  return out;
}

struct ConvCase {
  Shape input;   // (B, C_in, H, W)
  Shape weight;  // (C_out, C_in, kH, kW)
  Size2d stride;
  Size2d padding;
  bool bias;
};

const std::vector<ConvCase> kConvCases = {
    {{2, 3, 5, 5}, {4, 3, 3, 3}, 1, 1, true},             // same-size output
    {{1, 2, 7, 6}, {3, 2, 3, 2}, {2, 1}, {1, 0}, true},   // odd sizes, asymmetric stride and padding
    {{2, 3, 4, 4}, {5, 3, 1, 1}, 1, 0, true},             // 1x1: the pointwise path
    {{1, 2, 5, 5}, {3, 2, 1, 1}, 2, 1, false},            // 1x1 with stride and padding: im2col path
    {{1, 1, 5, 5}, {2, 1, 5, 5}, 1, 0, true},             // kernel covers the image: 1x1 output
    {{2, 2, 5, 7}, {2, 2, 2, 3}, {2, 3}, {0, 1}, false},  // stride that skips the last pixels
    {{1, 1, 1, 1}, {1, 1, 3, 3}, 1, 1, true},             // a single pixel, all padding around it
    {{0, 2, 4, 4}, {3, 2, 3, 3}, 1, 1, true},             // empty batch
};

std::string describe(const ConvCase& c) {
  return fmt::format("conv2d x{} w{} stride ({}, {}) padding ({}, {}){}", shape_string(c.input), shape_string(c.weight),
                     c.stride.height, c.stride.width, c.padding.height, c.padding.width, c.bias ? " bias" : "");
}

TEST(Conv2d, HarnessOnInputWeightAndBias) {
  for (const ConvCase& c : kConvCases) {
    std::vector<InputSpec> inputs = {InputSpec{c.input}, InputSpec{c.weight}};
    if (c.bias) inputs.push_back(InputSpec{{c.weight[0]}});
    EXPECT_OP_OK(make_case(describe(c), inputs, [c](const auto& x) {
      using Tensor = std::decay_t<decltype(x[0])>;
      return conv2d(x[0], x[1], c.bias ? x[2] : Tensor(), c.stride, c.padding);
    }));
  }
}

TEST(Conv2d, MatchesFloat64Loops) {
  Generator generator(11);
  for (const ConvCase& c : kConvCases) {
    const auto x = Tensor64::randn(c.input, generator);
    const auto w = Tensor64::randn(c.weight, generator);
    const auto b = c.bias ? Tensor64::randn({c.weight[0]}, generator) : Tensor64();
    const auto got = conv2d(x, w, b, c.stride, c.padding);
    const auto want = conv2d_reference(x, w, b, c.stride, c.padding);
    ASSERT_EQ(got.shape(), want.shape()) << describe(c);
    const auto g = got.to_vector(), r = want.to_vector();
    for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], r[i], 1e-12) << describe(c) << " element " << i;
  }
}

TEST(Conv2d, KnownValues) {
  // 3x3 image 1..9, 2x2 kernel of ones, stride 1: sums of each 2x2 block; bias 0.5.
  const auto x = Tensor64::from_vector({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const auto y = conv2d(x, Tensor64::ones({1, 1, 2, 2}), Tensor64::full({1}, 0.5));
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(y.to_vector(), (std::vector<double>{12.5, 16.5, 24.5, 28.5}));
  // Padding 1 with a 1x1 kernel of 2 and stride 2: the corners of the padded 5x5 are zeros.
  const auto z = conv2d(x, Tensor64::full({1, 1, 1, 1}, 2.0), Tensor64(), 2, 1);
  EXPECT_EQ(z.to_vector(), (std::vector<double>{0, 0, 0, 0, 10, 0, 0, 0, 0}));
}

TEST(Conv2d, Im2colHarnessAndLayout) {
  EXPECT_OP_OK(make_case("im2col (2,2,4,5) k(2,3) s(1,2) p(1,1)", {InputSpec{{2, 2, 4, 5}}}, [](const auto& x) {
    return im2col(x[0], {2, 3}, {1, 2}, {1, 1});
  }));
  EXPECT_OP_OK(make_case("im2col overlapping 3x3 stride 1", {InputSpec{{1, 3, 4, 4}}},
                         [](const auto& x) { return im2col(x[0], 3, 1, 0); }));
  // Rows are (c, i, j), columns (oh, ow): a 3x3 image under a 2x2 kernel, no padding.
  const auto x = Tensor64::from_vector({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const auto columns = im2col(x, 2);  // stride 1 by default, 2x2 positions
  EXPECT_EQ(columns.shape(), (Shape{1, 4, 4}));
  EXPECT_EQ(columns.to_vector(), (std::vector<double>{1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9}));
}

TEST(Conv2d, BackwardMatchesFiniteDifferencesOfTheLoops) {
  // The harness compares against finite differences of conv2d itself; here the input gradient
  // of an overlapping strided case is compared against differences of the float64 loops.
  Generator generator(5);
  const auto x = Tensor64::randn({1, 2, 5, 4}, generator);
  const auto w = Tensor64::randn({3, 2, 3, 2}, generator);
  const auto probe = Tensor64::randn({1, 3, 3, 5}, generator);  // d loss / d out (1, 3, 3, 5)
  Tensor64 leaf = x.clone().detach().set_requires_grad(true);
  conv2d(leaf, w, Tensor64(), {2, 1}, {1, 1}).backward(probe);
  const auto grad = leaf.grad().to_vector();
  for (int64_t i = 0; i < x.numel(); ++i) {
    Tensor64 plus = x.clone(), minus = x.clone();
    plus.data()[i] += 1e-6;
    minus.data()[i] -= 1e-6;
    double numeric = 0;
    const auto up = conv2d_reference(plus, w, Tensor64(), {2, 1}, {1, 1}).to_vector();
    const auto down = conv2d_reference(minus, w, Tensor64(), {2, 1}, {1, 1}).to_vector();
    for (size_t k = 0; k < up.size(); ++k) numeric += probe.data()[k] * (up[k] - down[k]) / 2e-6;
    EXPECT_NEAR(grad[i], numeric, 1e-7) << "element " << i;
  }
}

TEST(Conv2d, ThreadCountDoesNotChangeBits) {
  // Large enough that the plane loops and the matmul tiles split across two threads.
  Generator generator(9);
  // 128 planes of 9 x 100 column entries: several chunks per thread in im2col and col2im.
  const auto x = Tensor32::randn({8, 16, 20, 20}, generator);
  const auto w = Tensor32::randn({16, 16, 3, 3}, generator);
  const auto b = Tensor32::randn({16}, generator);
  const auto probe = Tensor32::randn({8, 16, 10, 10}, generator);
  std::vector<std::vector<float>> runs[2];
  for (int threads : {1, 2}) {
    ThreadCountGuard guard(threads);
    Tensor32 xs = x.clone().detach().set_requires_grad(true);
    Tensor32 ws = w.clone().detach().set_requires_grad(true);
    Tensor32 bs = b.clone().detach().set_requires_grad(true);
    const auto y = conv2d(xs, ws, bs, 2, 1);
    y.backward(probe);
    runs[threads - 1] = {y.to_vector(), xs.grad().to_vector(), ws.grad().to_vector(), bs.grad().to_vector()};
  }
  for (size_t k = 0; k < 4; ++k) EXPECT_EQ(runs[0][k], runs[1][k]) << "result " << k;
}

TEST(Conv2d, ModuleParametersAndInitialization) {
  Generator generator(1);
  nn::Conv2d<float> conv({.in_channels = 3, .out_channels = 8, .kernel_size = {3, 2}, .padding = 1}, generator);
  const auto named = conv.named_parameters();
  ASSERT_EQ(named.size(), 2u);
  EXPECT_EQ(named[0].first, "weight");
  EXPECT_EQ(named[0].second.shape(), (Shape{8, 3, 3, 2}));
  EXPECT_EQ(named[1].first, "bias");
  EXPECT_EQ(named[1].second.shape(), (Shape{8}));
  EXPECT_EQ(conv.parameter_count(), 8 * 3 * 3 * 2 + 8);
  // U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = 3 * 3 * 2 = 18, for weight and bias alike.
  const float bound = 1.0f / std::sqrt(18.0f);
  for (const auto& [name, p] : named) {
    float largest = 0;
    for (float v : p.to_vector()) {
      EXPECT_LE(std::abs(v), bound) << name;
      largest = std::max(largest, std::abs(v));
    }
    EXPECT_GT(largest, 0.7f * bound) << name << " does not use its range";
  }
  nn::Conv2d<float> no_bias({.in_channels = 2, .out_channels = 2, .kernel_size = 1, .bias = false}, generator);
  EXPECT_EQ(no_bias.named_parameters().size(), 1u);
  EXPECT_FALSE(no_bias.bias().defined());

  // forward is conv2d with the module's parameters and configuration.
  const auto x = Tensor32::randn({2, 3, 6, 5}, generator);
  const auto y = conv.forward(x);
  EXPECT_EQ(y.shape(), (Shape{2, 8, 6, 6}));
  EXPECT_EQ(y.to_vector(), conv2d(x, conv.weight(), conv.bias(), 1, 1).to_vector());
}

TEST(Conv2d, ModuleGradientsByFiniteDifferences) {
  Generator generator(4);
  nn::Conv2d<double> conv({.in_channels = 2, .out_channels = 3, .kernel_size = 3, .stride = 2, .padding = 1},
                          generator);
  const auto x = Tensor64::randn({2, 2, 5, 5}, generator);
  const auto probe = Tensor64::randn({2, 3, 3, 3}, generator);
  EXPECT_EQ(testing::check_parameter_gradients(conv, [&] { return sum(mul(conv.forward(x), probe)); }), "");
}

TEST(Conv2dMisuse, ChannelMismatch) {
  expect_error<ShapeError>(
      [] {
        conv2d(Tensor32::ones({1, 3, 5, 5}), Tensor32::ones({2, 4, 3, 3}));
      },
      {"conv2d", "(1, 3, 5, 5)", "(2, 4, 3, 3)", "C_in = 4"});
}

TEST(Conv2dMisuse, InputWithoutBatchAxis) {
  expect_error<ShapeError>(
      [] {
        conv2d(Tensor32::ones({3, 5, 5}), Tensor32::ones({2, 3, 3, 3}));
      },
      {"conv2d", "(3, 5, 5)", "(B, C_in, H, W)"});
}

TEST(Conv2dMisuse, BiasOfTheWrongSize) {
  expect_error<ShapeError>(
      [] {
        conv2d(Tensor32::ones({1, 3, 5, 5}), Tensor32::ones({2, 3, 3, 3}), Tensor32::ones({3}));
      },
      {"conv2d", "bias (3)", "(2)", "(2, 3, 3, 3)"});
}

TEST(Conv2dMisuse, KernelLargerThanPaddedInput) {
  expect_error<ShapeError>(
      [] {
        conv2d(Tensor32::ones({1, 1, 2, 5}), Tensor32::ones({1, 1, 5, 3}), Tensor32(), 1, 1);
      },
      {"conv2d", "kernel (5, 3)", "(1, 1, 2, 5)", "padded by (1, 1)"});
}

TEST(Conv2dMisuse, NonPositiveStrideAndNegativePadding) {
  expect_error<ValueError>(
      [] {
        conv2d(Tensor32::ones({1, 1, 4, 4}), Tensor32::ones({1, 1, 2, 2}), Tensor32(), {1, 0});
      },
      {"conv2d", "stride (1, 0)"});
  expect_error<ValueError>([] { im2col(Tensor32::ones({1, 1, 4, 4}), 2, 1, {-1, 0}); }, {"im2col", "padding (-1, 0)"});
  Generator generator(0);
  expect_error<ValueError>(
      [&] { nn::Conv2d<float>({.in_channels = 0, .out_channels = 2, .kernel_size = 3}, generator); },
      {"Conv2d", "in_channels=0"});
}

TEST(Conv2dMisuse, ModuleInputWithWrongChannels) {
  Generator generator(0);
  nn::Conv2d<float> conv({.in_channels = 3, .out_channels = 2, .kernel_size = 3}, generator);
  expect_error<ShapeError>([&] { conv.forward(Tensor32::ones({2, 4, 8, 8})); }, {"conv2d", "(2, 4, 8, 8)", "C_in = 3"});
}

}  // namespace
}  // namespace attend
