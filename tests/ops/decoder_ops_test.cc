// The decoder's own ops, rms_norm and swiglu, through the op harness (float32 against float64,
// finite differences in float64, every input's gradient, 1 against 2 threads), against their
// formulas, and their errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "attend/ops/elementwise.h"
#include "attend/ops/normalization.h"
#include "harness/expect_error.h"
#include "harness/op_harness.h"
#include "harness/simd_targets.h"
#include "kernels/swiglu.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

TEST(RmsNorm, Harness) {
  for (const Shape& shape : std::vector<Shape>{{4, 7}, {2, 3, 64}, {0, 5}, {3, 1}, {1, 576}}) {
    auto op = make_case(fmt::format("rms_norm {}", shape_string(shape)), {InputSpec{shape}, InputSpec{{shape.back()}}},
                        [](const auto& x) { return rms_norm(x[0], x[1], 1e-5); });
    EXPECT_OP_OK(op);
    auto no_weight = make_case(fmt::format("rms_norm no weight {}", shape_string(shape)), {InputSpec{shape}},
                               [](const auto& x) { return rms_norm(x[0], {}, 1e-5); });
    EXPECT_OP_OK(no_weight);
  }
}

TEST(RmsNorm, IsTheFormulaInDouble) {
  const auto x = Tensor64::from_vector({2, 3}, {1, 2, 3, -4, 0, 4});
  const auto w = Tensor64::from_vector({3}, {1, 10, 100});
  const std::vector<double> y = rms_norm(x, w, 1e-5).to_vector();
  const double r0 = 1 / std::sqrt((1 + 4 + 9) / 3.0 + 1e-5), r1 = 1 / std::sqrt(32 / 3.0 + 1e-5);
  const std::vector<double> expected{r0, 20 * r0, 300 * r0, -4 * r1, 0, 400 * r1};
  for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], expected[i], 1e-12) << i;
}

TEST(RmsNorm, ZeroRowsStayFiniteAndNanStaysNan) {
  const std::vector<float> zeros = rms_norm(Tensor32::zeros({2, 8})).to_vector();
  for (float v : zeros) EXPECT_EQ(v, 0.0f);
  auto x = Tensor32::ones({1, 4});
  x.data()[2] = std::numeric_limits<float>::quiet_NaN();
  for (float v : rms_norm(x).to_vector()) EXPECT_TRUE(std::isnan(v));
}

TEST(RmsNorm, RefusesBadShapesAndEps) {
  expect_error<ShapeError>(
      [] {
        rms_norm(Tensor32::zeros({2, 4}), Tensor32::zeros({5}));
      },
      {"weight (5) must be (4) for x (2, 4)"});
  expect_error<ShapeError>([] { rms_norm(Tensor32::zeros({2, 0})); }, {"non-empty last axis"});
  expect_error<ValueError>([] { rms_norm(Tensor32::zeros({2, 4}), {}, 0.0); }, {"eps must be positive"});
  expect_error<ValueError>([] { rms_norm(Tensor32::zeros({2, 4}), {}, std::nan("")); }, {"eps must be positive"});
}

TEST(Swiglu, Harness) {
  for (const Shape& shape : std::vector<Shape>{{4, 7}, {2, 3, 33}, {0, 5}, {1}}) {
    auto op = make_case(fmt::format("swiglu {}", shape_string(shape)), {InputSpec{shape}, InputSpec{shape}},
                        [](const auto& x) { return swiglu(x[0], x[1]); });
    EXPECT_OP_OK(op);
  }
}

TEST(Swiglu, IsSiluTimesUpWithoutOverflow) {
  const auto gate = Tensor64::from_vector({5}, {-1000, -2, 0, 2, 1000});
  const auto up = Tensor64::from_vector({5}, {3, 3, 3, 3, 3});
  const std::vector<double> y = swiglu(gate, up).to_vector();
  for (size_t i = 0; i < y.size(); ++i) {
    const double g = gate.data()[i];
    EXPECT_NEAR(y[i], g / (1 + std::exp(-g)) * 3, 1e-12) << i;
  }
  expect_error<ShapeError>(
      [] {
        swiglu(Tensor32::zeros({2, 3}), Tensor32::zeros({3, 2}));
      },
      {"gate (2, 3) and up (3, 2) must have one shape"});
}

}  // namespace
}  // namespace attend

namespace attend {
namespace {

// The vectorized float forward on every SIMD target against silu(g) u in double, over the
// range where exp saturates, tails of every length, and NaN.
TEST(Swiglu, KernelOnEverySimdTargetMatchesDouble) {
  std::vector<float> gate, up;
  for (int i = 0; i < 403; ++i) {
    gate.push_back(-120.0f + 0.6f * static_cast<float>(i));
    up.push_back(0.5f + 0.01f * static_cast<float>(i % 17));
  }
  gate[7] = std::numeric_limits<float>::quiet_NaN();
  attend::testing::for_each_simd_target([&] {
    for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{5}, int64_t{17}, int64_t{403}}) {
      std::vector<float> out(static_cast<size_t>(n));
      kernels::swiglu_forward(gate.data(), up.data(), n, out.data());
      for (int64_t e = 0; e < n; ++e) {
        const double g = gate[e], expected = g / (1 + std::exp(-g)) * up[e];
        if (std::isnan(g)) {
          EXPECT_TRUE(std::isnan(out[e]));
          continue;
        }
        EXPECT_NEAR(out[e], expected, 4e-7 * std::abs(expected) + 1e-30) << "g " << g;
      }
    }
  });
}

}  // namespace
}  // namespace attend
