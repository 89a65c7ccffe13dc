// kernels/softmax_float64.h, the sampler's vectorized float64 passes, on every SIMD target this
// CPU runs: widening with the refusal flags, the maximum, and exp((x - m) c) against std::exp in
// long double, at every length 0..33 (whole vectors and the padded tail) and over a vocabulary.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "harness/simd_targets.h"
#include "kernels/softmax_float64.h"

namespace attend {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> ramp(int64_t n) {
  std::vector<float> l(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) l[i] = static_cast<float>(std::sin(0.7 * static_cast<double>(i)) * 12.0);
  return l;
}

TEST(SoftmaxFloat64, WidensAndFlagsEveryPosition) {
  testing::for_each_simd_target([] {
    for (int64_t n = 1; n <= 33; ++n) {
      std::vector<float> l = ramp(n);
      std::vector<double> x(static_cast<size_t>(n) + 1, 5.0);  // + 1: a sentinel
      bool any_finite = false;
      EXPECT_TRUE(kernels::widen_logits(l.data(), n, x.data(), &any_finite));
      EXPECT_TRUE(any_finite);
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(x[i], static_cast<double>(l[i]));
      EXPECT_EQ(x[n], 5.0);
      for (int64_t bad = 0; bad < n; ++bad) {  // NaN or +inf refused at every position
        for (const float value : {std::numeric_limits<float>::quiet_NaN(), kInf}) {
          std::vector<float> refused = l;
          refused[bad] = value;
          EXPECT_FALSE(kernels::widen_logits(refused.data(), n, x.data(), &any_finite)) << n << " at " << bad;
        }
      }
      std::vector<float> masked(static_cast<size_t>(n), -kInf);
      EXPECT_TRUE(kernels::widen_logits(masked.data(), n, x.data(), &any_finite));
      EXPECT_FALSE(any_finite) << n;
      masked[n - 1] = -3.0f;  // one finite logit, in the tail or the last vector
      EXPECT_TRUE(kernels::widen_logits(masked.data(), n, x.data(), &any_finite));
      EXPECT_TRUE(any_finite) << n;
    }
  });
}

TEST(SoftmaxFloat64, LargestIsTheExactMaximumWherever) {
  testing::for_each_simd_target([] {
    for (int64_t n = 1; n <= 33; ++n) {
      for (int64_t at = 0; at < n; ++at) {
        std::vector<double> x(static_cast<size_t>(n), -1e300);
        x[at] = 0.5 + static_cast<double>(at);
        EXPECT_EQ(kernels::largest(x.data(), n), x[at]) << n << " at " << at;
      }
    }
  });
}

TEST(SoftmaxFloat64, ExpWithinTwoUlpAndMaskedGivesZero) {
  testing::for_each_simd_target([] {
    for (int64_t n : {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 49152}) {
      std::vector<float> l = ramp(n);
      if (n > 2) l[n / 2] = -kInf;
      std::vector<double> x(static_cast<size_t>(n) + 1, 5.0);  // + 1: a sentinel
      for (int64_t i = 0; i < n; ++i) x[i] = l[i];
      const double shift = 12.0, scale = 1.0 / 0.8;
      kernels::exp_scaled_shifted(x.data(), n, shift, scale);
      for (int64_t i = 0; i < n; ++i) {
        if (l[i] == -kInf) {
          EXPECT_EQ(x[i], 0.0) << "masked at " << i;
          continue;
        }
        // The exponent (x - m) c rounds once more than exp's argument in long double: 2 ulp.
        const long double exact = std::exp((static_cast<long double>(l[i]) - shift) * (1.0L / 0.8L));
        EXPECT_NEAR(x[i], static_cast<double>(exact), 4 * std::numeric_limits<double>::epsilon() * x[i])
            << n << " at " << i;
      }
      EXPECT_EQ(x[n], 5.0);
    }
  });
}

}  // namespace
}  // namespace attend
