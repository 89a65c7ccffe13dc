// kernels::gelu_forward and gelu_backward, the vectorized float GELU, against the exact
// definition in double: x Phi(x) and Phi(x) + x phi(x) with std::erf. The erf rule guarantees
// an absolute error below 1.5e-7 in Phi; with float rounding on top the bounds below hold over
// [-10, 10], at every position of a vector and in the scalar-padded tail.
// The kernel's targets include AVX-512 VNNI (AVX3_DL), which for_each_simd_target visits only when
// this file asks for it too.
#define HWY_WANT_AVX3_DL
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/gelu.h"
#include "harness/simd_targets.h"

namespace attend {
namespace {

double exact_cdf(double x) { return 0.5 * (1 + std::erf(x / std::sqrt(2.0))); }
double exact_gelu(double x) { return x * exact_cdf(x); }
double exact_derivative(double x) { return exact_cdf(x) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI); }

TEST(GeluKernel, WithinTheErfBoundOfTheExactFunction) {
  testing::for_each_simd_target([&] {
    for (int64_t n : {1, 7, 8, 9, 4001}) {
      std::vector<float> x(n), g(n), out(n + 1, 5.0f), dx(n + 1, 5.0f);  // + 1: sentinels
      for (int64_t e = 0; e < n; ++e) {
        x[e] = n == 1 ? 0.3f : static_cast<float>(-10.0 + 20.0 * e / (n - 1));
        g[e] = 1.0f + 0.001f * static_cast<float>(e % 13);
      }
      kernels::gelu_forward(x.data(), n, out.data());
      kernels::gelu_backward(x.data(), g.data(), n, dx.data());
      for (int64_t e = 0; e < n; ++e) {
        const double xd = x[e];
        // |x| * 1.5e-7 from erf, plus float rounding of a value of size |x|.
        EXPECT_NEAR(out[e], exact_gelu(xd), 2e-7 * std::abs(xd) + 1e-7 * std::abs(exact_gelu(xd)) + 1e-30)
            << "x " << xd;
        EXPECT_NEAR(dx[e], g[e] * exact_derivative(xd), 3e-7 * (1 + std::abs(xd))) << "x " << xd;
      }
      EXPECT_EQ(out[n], 5.0f);
      EXPECT_EQ(dx[n], 5.0f);
    }
  });
}

TEST(GeluKernel, TailsSignsAndNaN) {
  testing::for_each_simd_target([&] {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    std::vector<float> x = {0.0f, -30.0f, 30.0f, nan, inf, -1e-20f, 1e-20f, -5.0f, 2.0f};
    std::vector<float> out(x.size()), dx(x.size()), ones(x.size(), 1.0f);
    kernels::gelu_forward(x.data(), static_cast<int64_t>(x.size()), out.data());
    kernels::gelu_backward(x.data(), ones.data(), static_cast<int64_t>(x.size()), dx.data());
    EXPECT_EQ(out[0], 0.0f);
    EXPECT_EQ(out[1], 0.0f);   // x Phi(x) underflows to (-)0 far left
    EXPECT_EQ(out[2], 30.0f);  // and is x far right
    EXPECT_TRUE(std::isnan(out[3]));
    EXPECT_TRUE(std::isnan(dx[3]));
    EXPECT_EQ(out[4], inf);
    EXPECT_NEAR(out[6], 0.5e-20f, 1e-27f);
    EXPECT_LT(out[7], 0.0f);  // x Phi(x) < 0 for x < 0, small but not flushed
    EXPECT_NEAR(out[7], exact_gelu(-5.0), 1e-6);
    EXPECT_NEAR(dx[0], 0.5f, 1e-7f);
    EXPECT_NEAR(dx[8], exact_derivative(2.0), 1e-6);
  });
}

}  // namespace
}  // namespace attend
