#include "attend/sampling/penalties.h"

#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "attend/core/error.h"
#include "attend/core/random.h"
#include "attend/sampling/sampler.h"
#include "harness/expect_error.h"

namespace attend::sampling {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The formulas of penalties.h, written out in float64 with a map of counts.
std::vector<double> reference_penalties(std::vector<double> logits, const std::vector<int32_t>& history,
                                        const SamplingOptions& options) {
  std::map<int32_t, int64_t> counts;
  const size_t first = history.size() > static_cast<size_t>(options.penalty_last_n)
                           ? history.size() - static_cast<size_t>(options.penalty_last_n)
                           : 0;
  for (size_t i = first; i < history.size(); ++i) ++counts[history[i]];
  for (const auto& [token, count] : counts) {
    double& l = logits[static_cast<size_t>(token)];
    const double r = options.repeat_penalty;
    l = l > 0 ? l / r : l * r;
    l -= static_cast<double>(count) * static_cast<double>(options.frequency_penalty) +
         static_cast<double>(options.presence_penalty);
  }
  return logits;
}

TEST(SamplingPenalties, ChangeExactlyTheRecentTokensByTheFormula) {
  Generator generator(3);
  const size_t vocabulary = 40;
  std::vector<double> logits(vocabulary);
  for (double& l : logits) l = 3 * generator.normal();
  logits[5] = 0;
  logits[6] = -kInf;
  logits[7] = 2.5;
  // Random tokens 8..27, with repeats; 5, 6 and 7 only at the end, 30 only before the window.
  std::vector<int32_t> history = {30, 30, 1, 2, 3};
  for (int i = 0; i < 25; ++i) history.push_back(static_cast<int32_t>(8 + generator.uniform_int(20)));
  history.insert(history.end(), {5, 6, 7, 7, 7});
  SamplingOptions options;
  options.repeat_penalty = 1.3f;
  options.frequency_penalty = 0.25f;
  options.presence_penalty = 0.5f;
  options.penalty_last_n = 12;
  const std::vector<double> expected = reference_penalties(logits, history, options);
  std::vector<double> actual = logits;
  apply_penalties(actual, history, options);
  int changed = 0;
  for (size_t v = 0; v < vocabulary; ++v) {
    if (std::isinf(expected[v])) {
      EXPECT_EQ(actual[v], expected[v]) << "token " << v;
    } else {
      EXPECT_NEAR(actual[v], expected[v], 1e-12 * (1 + std::abs(expected[v]))) << "token " << v;
    }
    changed += actual[v] != logits[v];
  }
  EXPECT_EQ(actual[30], logits[30]) << "token 30 is outside the last 12";
  EXPECT_NEAR(actual[7], 2.5 / 1.3f - (3 * 0.25 + 0.5), 1e-12) << "positive: / r, then 3 occurrences";
  EXPECT_DOUBLE_EQ(actual[5], -0.75) << "0 times r, then the penalties of one occurrence";
  EXPECT_GE(changed, 4);
}

TEST(SamplingPenalties, NegativeLogitIsMultiplied) {
  std::vector<double> logits = {-2.0, 4.0, -2.0};
  SamplingOptions options;
  options.repeat_penalty = 1.5f;
  apply_penalties(logits, std::vector<int32_t>{0, 1, 0}, options);
  EXPECT_DOUBLE_EQ(logits[0], -3.0);
  EXPECT_DOUBLE_EQ(logits[1], 4.0 / 1.5);
  EXPECT_DOUBLE_EQ(logits[2], -2.0);
}

TEST(SamplingPenalties, LastNZeroOrNeutralValuesChangeNothing) {
  const std::vector<double> logits = {1.0, -1.0, 0.5};
  const std::vector<int32_t> history = {0, 1, 1};
  SamplingOptions off;
  off.repeat_penalty = 2;
  off.presence_penalty = 1;
  off.penalty_last_n = 0;
  std::vector<double> actual = logits;
  apply_penalties(actual, history, off);
  EXPECT_EQ(actual, logits);
  apply_penalties(actual, history, SamplingOptions{});
  EXPECT_EQ(actual, logits);
}

TEST(SamplingPenalties, RejectsARecentTokenOutsideTheVocabulary) {
  std::vector<double> logits(4, 0.0);
  SamplingOptions options;
  options.presence_penalty = 1;
  options.penalty_last_n = 2;
  expect_error<ValueError>(
      [&] {
        apply_penalties(logits, std::vector<int32_t>{0, 1, 4}, options);
      },
      {"history[2] = 4", "vocabulary of 4 logits"});
  expect_error<ValueError>(
      [&] {
        apply_penalties(logits, std::vector<int32_t>{0, -1, 2}, options);
      },
      {"history[1] = -1"});
  // Before the window: not read, so not refused.
  EXPECT_NO_THROW(apply_penalties(logits, std::vector<int32_t>{99, 1, 2}, options));
}

// Through the sampler: greedy picks what the penalized logits say.
TEST(SamplingPenalties, GreedyFollowsThePenalizedLogits) {
  SamplingOptions options;
  options.temperature = 0;
  const std::vector<int32_t> history = {0};
  EXPECT_EQ(sample_token(std::vector<float>{2.0f, 1.9f}, history, options, 0).id, 0);
  options.repeat_penalty = 1.1f;
  EXPECT_EQ(sample_token(std::vector<float>{2.0f, 1.9f}, history, options, 0).id, 1) << "2 / 1.1 < 1.9";
  EXPECT_EQ(sample_token(std::vector<float>{-1.0f, -1.05f}, history, options, 0).id, 1) << "-1 * 1.1 < -1.05";
  options.repeat_penalty = 1;
  options.frequency_penalty = 0.06f;
  EXPECT_EQ(sample_token(std::vector<float>{2.0f, 1.9f}, std::vector<int32_t>{0, 0}, options, 0).id, 1);
  EXPECT_EQ(sample_token(std::vector<float>{2.0f, 1.9f}, std::vector<int32_t>{0}, options, 0).id, 0);
}

}  // namespace
}  // namespace attend::sampling
