// expect_all_near(actual, expected, tolerance): the same length, and every element within
// `tolerance` of the expected one (a NaN never is). A failure names the worst element, its index
// and how many elements are off, once, rather than one line per element.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace attend::testing {

inline void expect_all_near(const std::vector<double>& actual, const std::vector<double>& expected, double tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  size_t off = 0, worst_at = 0;
  double worst = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double error = std::abs(actual[i] - expected[i]);
    if (actual[i] == expected[i] || error <= tolerance) continue;
    if (off++ == 0 || !(error <= worst)) {
      worst = error;
      worst_at = i;
    }
  }
  EXPECT_EQ(off, 0u) << fmt::format("element {}: {:.17g} vs expected {:.17g}, error {:.3e} > {:.1e}", worst_at,
                                    actual[worst_at], expected[worst_at], worst, tolerance)
                     << fmt::format(" ({} of {} elements off)", off, actual.size());
}

}  // namespace attend::testing
