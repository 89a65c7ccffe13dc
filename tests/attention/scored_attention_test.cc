// attention_from_scores, blocked_positions and hard_attention_weights: the harness over masks and
// both modes, the mask combination, and hard attention's argmax with ties and NaN. The module
// that scores with a score module: tests/nn/scored_attention_test.cc.
#include "attend/attention/scored_attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "attention/scored_attention_cases.h"
#include "harness/expect_error.h"
#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;
using Sizes = testing::ScoredSizes;

TEST(ScoredAttention, AttentionFromScoresHarness) {
  for (AttentionMode mode : {AttentionMode::kSoft, AttentionMode::kHard}) {
    for (const Sizes& s : testing::kScoredSizes) {
      for (const auto& [name, options] : testing::option_sets(s, mode)) {
        const std::string what = fmt::format("{} {}", mode == AttentionMode::kSoft ? "soft" : "hard", name);
        const std::vector<InputSpec> inputs = {InputSpec{{s.batch, s.queries, s.keys}},
                                               InputSpec{{s.batch, s.keys, s.value_dim}}};
        EXPECT_OP_OK(make_case(testing::scored_sizes_name("output " + what, s), inputs,
                               [options](const auto& x) { return attention_from_scores(x[0], x[1], options).output; }));
        auto weights_case =
            make_case(testing::scored_sizes_name("weights " + what, s), inputs,
                      [options](const auto& x) { return attention_from_scores(x[0], x[1], options).weights; });
        weights_case.differentiable = mode == AttentionMode::kSoft;  // hard weights are constants
        EXPECT_OP_OK(weights_case);
      }
    }
  }
}

TEST(ScoredAttention, BlockedPositionsCombineEveryMask) {
  ScoredAttentionOptions options{.mask = MaskTensor::from_vector({3}, {1, 1, 0}),
                                 .key_padding_mask = MaskTensor::from_vector({2, 3}, {0, 1, 0, 0, 0, 0}),
                                 .causal = true};
  const auto blocked = blocked_positions(2, 2, 3, options).to_vector();
  // batch 0: key 1 padded, key 2 masked, causal blocks j > i.
  EXPECT_EQ(blocked, (std::vector<uint8_t>{0, 1, 1, 0, 1, 1, /* batch 1 */ 0, 1, 1, 0, 0, 1}));
}

TEST(ScoredAttention, HardModePicksTheArgmaxWithTiesToTheLowestIndex) {
  const auto scores = Tensor64::from_vector({1, 3, 4}, {1, 3, 3, 2, -1, -2, 0.5, 0.5, 7, -7, 7, 7});
  const auto v = Tensor64::from_vector({1, 4, 2}, {10, 11, 20, 21, 30, 31, 40, 41});
  const auto hard = attention_from_scores(scores, v, {.mode = AttentionMode::kHard});
  EXPECT_EQ(hard.weights.to_vector(), (std::vector<double>{0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0}));
  EXPECT_EQ(hard.output.to_vector(), (std::vector<double>{20, 21, 30, 31, 10, 11}));
  // Masking the winner moves the pick to the best allowed key.
  const auto mask = MaskTensor::from_vector({3, 4}, {1, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1});
  const auto masked = attention_from_scores(scores, v, {.mask = mask, .mode = AttentionMode::kHard});
  EXPECT_EQ(masked.weights.to_vector(), (std::vector<double>{0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0}));
}

TEST(ScoredAttention, HardModeNaNScoreMakesItsRowNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto weights = hard_attention_weights(Tensor64::from_vector({2, 3}, {1, nan, 2, 0, 5, 1})).to_vector();
  for (int j = 0; j < 3; ++j) EXPECT_TRUE(std::isnan(weights[j]));
  EXPECT_EQ(std::vector<double>(weights.begin() + 3, weights.end()), (std::vector<double>{0, 1, 0}));
}

// ---- misuse ----

TEST(ScoredAttentionMisuse, AttentionFromScoresWithMismatchedValues) {
  expect_error<ShapeError>(
      [] {
        attention_from_scores(Tensor64::ones({2, 3, 5}), Tensor64::ones({2, 4, 6}));
      },
      {"attention_from_scores", "v (2, 4, 6)", "(2, 5)", "(2, 3, 5)"});
}

}  // namespace
}  // namespace attend
