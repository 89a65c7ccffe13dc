#include "attend/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "attend/core/error.h"
#include "attend/core/random.h"
#include "harness/expect_error.h"

namespace attend::sampling {
namespace {

constexpr float kMasked = -std::numeric_limits<float>::infinity();

SamplingOptions greedy_options() {
  SamplingOptions options;
  options.temperature = 0;
  return options;
}

// Distinct logits 0.01 apart, in a shuffled order: no tie anywhere.
std::vector<float> distinct_logits(size_t vocabulary, uint64_t seed) {
  std::vector<float> logits(vocabulary);
  for (size_t v = 0; v < vocabulary; ++v) logits[v] = 0.01f * static_cast<float>(v);
  Generator generator(seed);
  for (size_t v = vocabulary - 1; v > 0; --v) std::swap(logits[v], logits[generator.uniform_int(v + 1)]);
  return logits;
}

TEST(Sampler, GreedyPicksTheArgMaxAndTheLowestIdOnTies) {
  const std::vector<float> logits = {1, 5, 3, 5, kMasked, 5};
  Sampler sampler(greedy_options());
  for (int step = 0; step < 20; ++step) EXPECT_EQ(sampler.next(logits, {}), 1);
  EXPECT_EQ(sampler.step(), 20u);
  const std::vector<float> shuffled = distinct_logits(1000, 1);
  const auto max_at = std::max_element(shuffled.begin(), shuffled.end()) - shuffled.begin();
  EXPECT_EQ(sampler.next(shuffled, {}), max_at);
}

TEST(Sampler, TemperatureTowardsZeroIsGreedy) {
  const std::vector<float> logits = distinct_logits(1000, 2);
  const int32_t greedy = sample_token(logits, {}, greedy_options(), 0).id;
  SamplingOptions cold;
  cold.temperature = 1e-4f;  // neighbours 0.01 apart differ by 100 in s: p ratio e^-100
  Sampler sampler(cold);
  for (int step = 0; step < 200; ++step) ASSERT_EQ(sampler.next(logits, {}), greedy) << "step " << step;
  SamplingOptions warm;
  warm.temperature = 1;
  Sampler warm_sampler(warm);
  int differs = 0;
  for (int step = 0; step < 200; ++step) differs += warm_sampler.next(logits, {}) != greedy;
  EXPECT_GT(differs, 100) << "at temperature 1 the 1000 tokens are near uniform";
}

TEST(Sampler, TopKOneIsGreedyTiesIncluded) {
  const std::vector<float> logits = {0.5f, 4, -1, 4.5f, 2, 4.5f, kMasked};
  SamplingOptions options;
  options.top_k = 1;
  options.temperature = 1.5f;
  Sampler sampler(options);
  for (int step = 0; step < 100; ++step) ASSERT_EQ(sampler.next(logits, {}), 3);
  EXPECT_EQ(sample_token(logits, {}, greedy_options(), 0).id, 3);
}

TEST(Sampler, RefusesNaNPositiveInfinityAndAllMasked) {
  SamplingOptions options;
  expect_error<ValueError>(
      [&] {
        sample_token(std::vector<float>{0, 1, NAN, 2}, {}, options, 0);
      },
      {"logits contain NaN at id 2"});
  expect_error<ValueError>([&] { sample_token(std::vector<float>{NAN}, {}, greedy_options(), 0); },
                           {"logits contain NaN at id 0"});
  expect_error<ValueError>([&] { sample_token(std::vector<float>{0, INFINITY}, {}, options, 0); }, {"+inf at id 1"});
  expect_error<ValueError>(
      [&] {
        sample_token(std::vector<float>{kMasked, kMasked, kMasked}, {}, options, 0);
      },
      {"all 3 logits are -inf"});
  expect_error<ValueError>([&] { sample_token(std::vector<float>{}, {}, options, 0); }, {"0 logits"});
}

TEST(Sampler, NeverDrawsAMaskedToken) {
  const std::vector<float> logits = {0, kMasked, 0, kMasked, -30};
  Sampler sampler(SamplingOptions{});
  std::vector<int> counts(logits.size(), 0);
  for (int step = 0; step < 4000; ++step) ++counts[static_cast<size_t>(sampler.next(logits, {}))];
  EXPECT_EQ(counts[1], 0);
  EXPECT_EQ(counts[3], 0);
  EXPECT_GT(counts[0], 1800);
  EXPECT_GT(counts[2], 1800);
}

TEST(Sampler, LogProbabilitiesOfTheFinalAndTheModelDistribution) {
  const std::vector<float> logits = {0.3f, 2.0f, 1.5f, -0.5f, 1.0f, kMasked};
  SamplingOptions options;
  options.top_k = 2;
  options.want_logprobs = true;
  double model_total = 0;
  for (const float l : logits) model_total += std::exp(static_cast<double>(l));
  // Top 2: ids 1 and 2, renormalized.
  const double top_total = std::exp(2.0) + std::exp(1.5);
  Sampler sampler(options);
  bool saw[2] = {false, false};
  for (int step = 0; step < 50; ++step) {
    const int32_t id = sampler.next(logits, {});
    ASSERT_TRUE(id == 1 || id == 2);
    saw[id - 1] = true;
    const double l = logits[static_cast<size_t>(id)];
    EXPECT_NEAR(sampler.last().logprob, l - std::log(top_total), 1e-12);
    EXPECT_NEAR(sampler.last().model_logprob, l - std::log(model_total), 1e-12);
  }
  EXPECT_TRUE(saw[0] && saw[1]);
  SamplingOptions greedy = greedy_options();
  greedy.want_logprobs = true;
  const SampledToken token = sample_token(logits, {}, greedy, 0);
  EXPECT_EQ(token.logprob, 0);
  EXPECT_NEAR(token.model_logprob, 2.0 - std::log(model_total), 1e-12);
  options.want_logprobs = false;
  EXPECT_TRUE(std::isnan(sample_token(logits, {}, options, 0).logprob));
  EXPECT_TRUE(std::isnan(sample_token(logits, {}, options, 0).model_logprob));
}

// Temperature acts before top-p (Hugging Face's order): at temperature 2 the distribution
// p = 0.1, 0.5, 0.15, 0.25 flattens to 0.166, 0.370, 0.203, 0.262, and top_p = 0.7 then needs
// three tokens where at temperature 1 it needs two (llama.cpp's order would keep two).
TEST(Sampler, TopPJudgesTheDistributionAfterTemperature) {
  const std::vector<float> logits = {std::log(0.1f), std::log(0.5f), std::log(0.15f), std::log(0.25f)};
  SamplingOptions options;
  options.top_p = 0.7f;
  EXPECT_EQ(final_distribution(logits, {}, options).size(), 2u);
  options.temperature = 2;
  const std::vector<TokenProbability> kept = final_distribution(logits, {}, options);
  ASSERT_EQ(kept.size(), 3u);
  const double total = std::sqrt(0.5) + std::sqrt(0.15) + std::sqrt(0.25);
  EXPECT_EQ(kept[0].id, 1);
  EXPECT_NEAR(kept[0].probability, std::sqrt(0.5) / total, 1e-6);
  EXPECT_EQ(kept[1].id, 2);
  EXPECT_NEAR(kept[1].probability, std::sqrt(0.15) / total, 1e-6);
  EXPECT_EQ(kept[2].id, 3);
}

TEST(Sampler, GreedyDistributionIsAllOnTheArgMax) {
  const std::vector<TokenProbability> kept = final_distribution(std::vector<float>{1, 3, 3}, {}, greedy_options());
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].id, 1);
  EXPECT_EQ(kept[0].probability, 1.0);
}

}  // namespace
}  // namespace attend::sampling
