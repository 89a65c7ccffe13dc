// Gradient clipping by global norm (as torch.nn.utils.clip_grad_norm_): the scale, no-ops, float64
// sums in fixed chunks (the same for any thread count), non-finite norms, and misuse.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/core/random.h"
#include "attend/train/optimizer.h"
#include "harness/expect_error.h"
#include "train/optimizer_fixtures.h"

namespace attend {
namespace {

using optimizer_fixtures::set_gradient;
using train::NamedTensors;

TEST(ClipGradNorm, ScalesByMaxNormOverNormAboveTheThreshold) {
  // Gradients (3, 4) and (12): global norm sqrt(9 + 16 + 144) = 13.
  auto a = Tensor64::zeros({2});
  auto b = Tensor64::zeros({1});
  a.set_requires_grad();
  b.set_requires_grad();
  set_gradient(a, {3.0, 4.0});
  set_gradient(b, {12.0});
  EXPECT_EQ(train::clip_grad_norm(std::vector<Tensor64>{a, b}, 6.5), 13.0);
  const double scale = 6.5 / (13.0 + 1e-6);
  EXPECT_EQ(a.grad().to_vector(), (std::vector<double>{3.0 * scale, 4.0 * scale}));
  EXPECT_EQ(b.grad().to_vector(), (std::vector<double>{12.0 * scale}));
  // The clipped norm is max_norm up to the 1e-6 guard.
  EXPECT_NEAR(train::clip_grad_norm(std::vector<Tensor64>{a, b}, 100.0), 6.5, 1e-6);
}

TEST(ClipGradNorm, NoOpAtOrBelowTheThresholdAndSkipsMissingGradients) {
  auto a = Tensor32::zeros({2});
  auto b = Tensor32::zeros({3});
  a.set_requires_grad();
  b.set_requires_grad();
  set_gradient(a, {3.0, 4.0});  // b has no gradient
  NamedTensors<float> named = {{"a", a}, {"b", b}};
  EXPECT_EQ(train::clip_grad_norm(named, 5.0), 5.0);
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{3.0f, 4.0f}));
  EXPECT_EQ(train::clip_grad_norm(named, 1e9), 5.0);
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{3.0f, 4.0f}));
  EXPECT_FALSE(b.grad().defined());
  EXPECT_EQ(train::clip_grad_norm(NamedTensors<float>{{"b", b}}, 1.0), 0.0);
}

TEST(ClipGradNorm, AccumulatesFloatGradientsInDouble) {
  // 4097 gradients of 1 + 2^-12: a float running sum of squares would lose the low bits.
  const int64_t n = 4097;
  const float value = 1.0f + 1.0f / 4096;
  auto p = Tensor32::zeros({n});
  p.set_requires_grad();
  set_gradient(p, std::vector<double>(n, value));
  const double expected = std::sqrt(static_cast<double>(n) * value * value);
  EXPECT_NEAR(train::clip_grad_norm(std::vector<Tensor32>{p}, 1e9), expected, 1e-12 * expected);
}

// Gradients of several chunks (the norm is summed in fixed chunks on both threads): the same
// norm and clipped gradients, bit for bit, for 1 and 2 threads, and the float64 norm.
TEST(ClipGradNorm, ChunkedSumIsTheSameForAnyThreadCountAndMatchesFloat64) {
  const auto run = [](int threads) {
    ThreadCountGuard guard(threads);
    Generator generator(21);
    auto a = Tensor32::zeros({200000}), b = Tensor32::zeros({3, 7});  // 13 + 1 chunks: split over 2 threads
    a.set_requires_grad();
    b.set_requires_grad();
    std::vector<double> ga(200000), gb(21);
    for (auto& x : ga) x = generator.normal();
    for (auto& x : gb) x = 100 * generator.normal();
    set_gradient(a, ga);
    set_gradient(b, gb);
    double exact = 0;
    for (const Tensor32& t : {a, b}) {
      for (const float x : t.grad().to_vector()) exact += static_cast<double>(x) * x;
    }
    const double norm = train::clip_grad_norm(std::vector<Tensor32>{a, b}, 1.0);
    EXPECT_NEAR(norm, std::sqrt(exact), 1e-12 * std::sqrt(exact));
    std::vector<float> clipped = a.grad().to_vector();
    const std::vector<float> tail = b.grad().to_vector();
    clipped.insert(clipped.end(), tail.begin(), tail.end());
    return std::make_pair(norm, clipped);
  };
  const auto one = run(1), two = run(2);
  EXPECT_EQ(one.first, two.first);
  EXPECT_EQ(one.second, two.second);
}

TEST(ClipGradNorm, NonFiniteNormLeavesGradientsUnchanged) {
  for (double bad : {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    auto a = Tensor64::zeros({2});
    auto b = Tensor64::zeros({1});
    a.set_requires_grad();
    b.set_requires_grad();
    set_gradient(a, {3.0, 4.0});
    set_gradient(b, {0.0});
    b.grad().data()[0] = bad;
    const double norm = train::clip_grad_norm(std::vector<Tensor64>{a, b}, 1.0);
    EXPECT_TRUE(std::isinf(bad) ? std::isinf(norm) : std::isnan(norm)) << norm;
    EXPECT_EQ(a.grad().to_vector(), (std::vector<double>{3.0, 4.0}));
  }
}

TEST(ClipGradNorm, HugeDoubleGradientsDoNotOverflowTheNorm) {
  // Squares of 3e200 overflow double; the norm 5e200 does not.
  auto p = Tensor64::zeros({2});
  p.set_requires_grad();
  set_gradient(p, {3e200, 4e200});
  const double norm = train::clip_grad_norm(std::vector<Tensor64>{p}, 1.0);
  EXPECT_NEAR(norm, 5e200, 1e-14 * 5e200);
  EXPECT_NEAR(p.grad().to_vector()[0], 0.6, 1e-14);
  EXPECT_NEAR(p.grad().to_vector()[1], 0.8, 1e-14);
}

TEST(ClipGradNorm, Misuse) {
  auto p = Tensor64::zeros({2});
  p.set_requires_grad();
  const std::vector<Tensor64> parameters = {p};
  expect_error<ValueError>([&] { train::clip_grad_norm(parameters, 0.0); }, {"clip_grad_norm", "max_norm", "0"});
  expect_error<ValueError>([&] { train::clip_grad_norm(parameters, std::nan("")); }, {"max_norm", "nan"});
  expect_error<ValueError>(
      [&] {
        train::clip_grad_norm(NamedTensors<double>{{"ghost", Tensor64()}}, 1.0);
      },
      {"'ghost'", "undefined"});
  p.impl()->grad = Tensor64::ones({3});
  expect_error<ShapeError>([&] { train::clip_grad_norm(NamedTensors<double>{{"p", p}}, 1.0); }, {"'p'", "(3)", "(2)"});
}

}  // namespace
}  // namespace attend
