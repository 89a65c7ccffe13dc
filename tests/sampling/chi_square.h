// Pearson's chi-square goodness of fit, for tests of samplers: counts of draws against the
// probabilities they should follow.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace attend::sampling {

// sum_v (n_v - N p_v)^2 / (N p_v) over the cells with p_v > 0; a cell with p_v = 0 must be empty
// (checked here: a filtered-out token that is drawn fails the test outright).
inline double chi_square(const std::vector<int64_t>& counts, const std::vector<double>& probabilities) {
  int64_t draws = 0;
  for (const int64_t count : counts) draws += count;
  double statistic = 0;
  for (size_t v = 0; v < counts.size(); ++v) {
    if (probabilities[v] == 0) {
      EXPECT_EQ(counts[v], 0) << "token " << v << " has probability 0 but was drawn";
      continue;
    }
    const double expected = static_cast<double>(draws) * probabilities[v];
    statistic += (static_cast<double>(counts[v]) - expected) * (static_cast<double>(counts[v]) - expected) / expected;
  }
  return statistic;
}

// The 0.999 quantile of chi-square with `degrees` degrees of freedom (Wilson and Hilferty 1931:
// (X / k)^(1/3) is nearly normal with mean 1 - 2 / (9k) and variance 2 / (9k)); z_0.999 = 3.0902.
// The draws are seeded, so a test passes or fails the same way on every run; the bound only
// says how far from its target a correct sampler may land.
inline double chi_square_bound(int degrees) {
  const double k = degrees;
  const double cube = 1 - 2 / (9 * k) + 3.0902 * std::sqrt(2 / (9 * k));
  return k * cube * cube * cube;
}

// Cells of positive probability, minus one.
inline int degrees_of_freedom(const std::vector<double>& probabilities) {
  int cells = 0;
  for (const double p : probabilities) cells += p > 0;
  return cells - 1;
}

}  // namespace attend::sampling
