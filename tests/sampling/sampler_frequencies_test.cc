// 20,000 draws, each at its own step, against the distribution they should follow, computed
// by hand in float64 (chi-square at the 0.999 quantile; the seed is fixed, so the outcome is too).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "attend/core/random.h"
#include "attend/sampling/sampler.h"
#include "chi_square.h"

namespace attend::sampling {
namespace {

constexpr int kDraws = 20000;
constexpr float kMasked = -std::numeric_limits<float>::infinity();

std::vector<int64_t> draw_counts(const std::vector<float>& logits, const std::vector<int32_t>& history,
                                 const SamplingOptions& options) {
  Sampler sampler(options);
  std::vector<int64_t> counts(logits.size(), 0);
  for (int draw = 0; draw < kDraws; ++draw) ++counts[static_cast<size_t>(sampler.next(logits, history))];
  return counts;
}

// p_v proportional to weights[v], normalized in float64.
std::vector<double> normalized(std::vector<double> weights) {
  double total = 0;
  for (const double w : weights) total += w;
  for (double& w : weights) w /= total;
  return weights;
}

void expect_fits(const std::vector<int64_t>& counts, const std::vector<double>& probabilities) {
  const int degrees = degrees_of_freedom(probabilities);
  EXPECT_LT(chi_square(counts, probabilities), chi_square_bound(degrees)) << degrees << " degrees of freedom";
}

TEST(SamplerFrequencies, Temperature) {
  const std::vector<float> logits = {1, 2, 0.5f, -1, 3, kMasked};
  SamplingOptions options;
  options.temperature = 0.7f;
  const double t = 0.7f;
  std::vector<double> weights;
  for (const float l : logits) weights.push_back(std::exp(l / t));
  const std::vector<int64_t> counts = draw_counts(logits, {}, options);
  expect_fits(counts, normalized(weights));
  // The test can tell: the same draws do not fit temperature 1.
  std::vector<double> at_one;
  for (const float l : logits) at_one.push_back(std::exp(static_cast<double>(l)));
  EXPECT_GT(chi_square(counts, normalized(at_one)), chi_square_bound(4));
}

TEST(SamplerFrequencies, TopK) {
  const std::vector<float> logits = {0.3f, 2.0f, 1.5f, -0.5f, 1.0f, 0.9f};
  SamplingOptions options;
  options.top_k = 3;
  const std::vector<int64_t> counts = draw_counts(logits, {}, options);
  expect_fits(counts, normalized({0, std::exp(2.0), std::exp(1.5), 0, std::exp(1.0), 0}));
  std::vector<double> unfiltered;
  for (const float l : logits) unfiltered.push_back(std::exp(static_cast<double>(l)));
  // Filtered-out tokens with counts 0 against their p > 0: far off.
  EXPECT_GT(chi_square(counts, normalized(unfiltered)), chi_square_bound(5));
}

TEST(SamplerFrequencies, TopP) {
  // p = 0.1, 0.5, 0.15, 0.25: top_p = 0.7 keeps 0.5 + 0.25 = 0.75.
  const std::vector<float> logits = {std::log(0.1f), std::log(0.5f), std::log(0.15f), std::log(0.25f)};
  SamplingOptions options;
  options.top_p = 0.7f;
  expect_fits(draw_counts(logits, {}, options), {0, 2.0 / 3, 0, 1.0 / 3});
}

TEST(SamplerFrequencies, MinP) {
  // p = 0.15, 0.5, 0.1, 0.25: min_p = 0.25 keeps p >= 0.125.
  const std::vector<float> logits = {std::log(0.15f), std::log(0.5f), std::log(0.1f), std::log(0.25f)};
  SamplingOptions options;
  options.min_p = 0.25f;
  expect_fits(draw_counts(logits, {}, options), {0.15 / 0.9, 0.5 / 0.9, 0, 0.25 / 0.9});
}

// Every stage at once, against the pipeline of sampler.h written plainly: a full sort, and
// each filter by its definition.
std::vector<double> reference_distribution(const std::vector<float>& logits, const std::vector<int32_t>& history,
                                           const SamplingOptions& o) {
  std::vector<double> s(logits.begin(), logits.end());
  std::map<int32_t, int> counts;
  for (size_t i = history.size() - std::min<size_t>(history.size(), o.penalty_last_n); i < history.size(); ++i) {
    ++counts[history[i]];
  }
  for (const auto& [v, c] : counts) {
    double& l = s[static_cast<size_t>(v)];
    l = l > 0 ? l / o.repeat_penalty : l * o.repeat_penalty;
    l -= c * static_cast<double>(o.frequency_penalty) + static_cast<double>(o.presence_penalty);
  }
  std::vector<int32_t> order(s.size());
  for (size_t v = 0; v < s.size(); ++v) order[v] = static_cast<int32_t>(v);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
  order.resize(static_cast<size_t>(o.top_k));
  const auto probabilities_of = [&](const std::vector<int32_t>& kept) {
    std::vector<double> weights;
    for (const int32_t v : kept) weights.push_back(std::exp(s[v] / o.temperature - s[kept[0]] / o.temperature));
    return normalized(weights);
  };
  std::vector<double> p = probabilities_of(order);
  double cumulative = 0;
  size_t prefix = 0;
  while (cumulative < o.top_p) cumulative += p[prefix++];
  order.resize(prefix);
  p = probabilities_of(order);
  std::vector<double> result(s.size(), 0);
  for (size_t i = 0; i < order.size(); ++i) {
    if (p[i] >= o.min_p * p[0]) result[static_cast<size_t>(order[i])] = p[i];
  }
  return normalized(result);
}

TEST(SamplerFrequencies, PenaltiesTemperatureAndEveryFilter) {
  Generator generator(5);
  std::vector<float> logits(16);
  for (float& l : logits) l = static_cast<float>(1.5 * generator.normal());
  const std::vector<int32_t> history = {0, 1, 2, 3, 3, 4, 5, 5, 5};
  SamplingOptions options;
  options.temperature = 0.8f;
  options.top_k = 10;
  options.top_p = 0.9f;
  options.min_p = 0.05f;
  options.repeat_penalty = 1.2f;
  options.frequency_penalty = 0.1f;
  options.presence_penalty = 0.2f;
  options.penalty_last_n = 6;
  const std::vector<double> expected = reference_distribution(logits, history, options);
  const std::vector<TokenProbability> actual = final_distribution(logits, history, options);
  size_t kept = 0;
  for (size_t v = 0; v < expected.size(); ++v) {
    if (expected[v] == 0) continue;
    ASSERT_LT(kept, actual.size());
    EXPECT_EQ(actual[kept].id, static_cast<int32_t>(v));
    EXPECT_NEAR(actual[kept].probability, expected[v], 1e-12);
    ++kept;
  }
  EXPECT_EQ(kept, actual.size());
  EXPECT_GE(kept, 3u) << "a case where the filters leave a choice";
  EXPECT_LT(kept, 10u) << "a case where top-p or min-p cut below top-k";
  expect_fits(draw_counts(logits, history, options), expected);
}

}  // namespace
}  // namespace attend::sampling
