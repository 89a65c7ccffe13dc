// nn::ScoredAttention: the harness over every score module, masks and both modes; a float64 loop
// reference; fully masked rows; hard attention's gradient; misuse. attention_from_scores and the
// hard argmax on their own: tests/attention/scored_attention_test.cc.
#include "attend/nn/scored_attention.h"

#include <gtest/gtest.h>

#include <cmath>

#include "attention/scored_attention_cases.h"
#include "harness/expect_error.h"
#include "harness/expect_near.h"
#include "harness/op_harness.h"
#include "nn/score_module_factory.h"

namespace attend {
namespace {

using testing::expect_all_near;
using testing::InputSpec;
using testing::make_case;
using Sizes = testing::ScoredSizes;

bool allowed_by(const ScoredAttentionOptions& options, const Sizes& s, int64_t b, int64_t i, int64_t j) {
  if (options.causal && j > i) return false;
  if (options.key_padding_mask.defined() && options.key_padding_mask.at({b, j}) != 0) return false;
  if (!options.mask.defined()) return true;
  const MaskTensor mask = options.mask.expand({s.batch, s.queries, s.keys});
  return mask.at({b, i, j}) != 0;
}

// ---- float64 loop reference ----

struct Reference {
  std::vector<double> output;   // (B, N, Dv)
  std::vector<double> weights;  // (B, N, M)
};

// scores (B, N, M) and v (B, M, Dv) as flat row-major vectors.
Reference reference_attention(const std::vector<double>& scores, const std::vector<double>& v, const Sizes& s,
                              const ScoredAttentionOptions& options) {
  Reference r;
  r.output.assign(s.batch * s.queries * s.value_dim, 0.0);
  r.weights.assign(s.batch * s.queries * s.keys, 0.0);
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t i = 0; i < s.queries; ++i) {
      const int64_t row = (b * s.queries + i) * s.keys;
      int64_t best = -1;
      for (int64_t j = 0; j < s.keys; ++j) {
        if (allowed_by(options, s, b, i, j) && (best < 0 || scores[row + j] > scores[row + best])) best = j;
      }
      if (best < 0) continue;  // nothing allowed: zeros
      if (options.mode == AttentionMode::kHard) {
        r.weights[row + best] = 1.0;
      } else {
        double total = 0;
        for (int64_t j = 0; j < s.keys; ++j) {
          if (allowed_by(options, s, b, i, j)) total += std::exp(scores[row + j] - scores[row + best]);
        }
        for (int64_t j = 0; j < s.keys; ++j) {
          if (allowed_by(options, s, b, i, j))
            r.weights[row + j] = std::exp(scores[row + j] - scores[row + best]) / total;
        }
      }
      for (int64_t j = 0; j < s.keys; ++j) {
        for (int64_t e = 0; e < s.value_dim; ++e) {
          r.output[(b * s.queries + i) * s.value_dim + e] += r.weights[row + j] * v[(b * s.keys + j) * s.value_dim + e];
        }
      }
    }
  }
  return r;
}

// q k^T as loops: q (B, N, D), k (B, M, D).
std::vector<double> reference_dot_scores(const Tensor64& q, const Tensor64& k) {
  std::vector<double> scores;
  for (int64_t b = 0; b < q.size(0); ++b) {
    for (int64_t i = 0; i < q.size(1); ++i) {
      for (int64_t j = 0; j < k.size(1); ++j) {
        double total = 0;
        for (int64_t d = 0; d < q.size(2); ++d) total += q.at({b, i, d}) * k.at({b, j, d});
        scores.push_back(total);
      }
    }
  }
  return scores;
}

void expect_zero_or_undefined(const Tensor64& grad, const std::string& what) {
  if (!grad.defined()) return;
  for (double g : grad.to_vector()) ASSERT_EQ(g, 0.0) << what;
}

template <typename T>
std::shared_ptr<nn::ScoreFunction<T>> make_score_module(const std::string& kind, const Sizes& s) {
  return testing::make_score_module<T>(kind, s.query_dim, s.key_dim, 3, 3.0, 21);
}

// ---- harness ----

TEST(ScoredAttention, ModuleHarnessForEveryScoreFunction) {
  for (const std::string kind : {"dot", "scaled_dot", "general", "additive", "cosine"}) {
    for (AttentionMode mode : {AttentionMode::kSoft, AttentionMode::kHard}) {
      for (const Sizes& s : testing::kScoredSizes) {
        for (const auto& [name, options] : testing::option_sets(s, mode)) {
          const std::string what = fmt::format("{} {} {}", kind, mode == AttentionMode::kSoft ? "soft" : "hard", name);
          // kAwayFromZero keeps cosine's D = 1 vectors away from the sign flip at 0.
          EXPECT_OP_OK(make_case(testing::scored_sizes_name(what, s),
                                 {InputSpec{{s.batch, s.queries, s.query_dim}, testing::InputKind::kAwayFromZero},
                                  InputSpec{{s.batch, s.keys, s.key_dim}, testing::InputKind::kAwayFromZero},
                                  InputSpec{{s.batch, s.keys, s.value_dim}}},
                                 [kind, s, options](const auto& x) {
                                   using T = typename std::decay_t<decltype(x[0])>::value_type;
                                   const nn::ScoredAttention<T> attention(make_score_module<T>(kind, s));
                                   return attention.forward(x[0], x[1], x[2], options).output;
                                 }));
        }
      }
    }
  }
}

// ---- against the float64 loops ----

TEST(ScoredAttention, MatchesFloat64LoopReference) {
  Generator generator(4);
  const nn::ScoredAttention<double> attention(std::make_shared<nn::DotScore<double>>());
  for (AttentionMode mode : {AttentionMode::kSoft, AttentionMode::kHard}) {
    for (const Sizes& s : testing::kScoredSizes) {
      const auto q = Tensor64::randn({s.batch, s.queries, s.query_dim}, generator);
      const auto k = Tensor64::randn({s.batch, s.keys, s.key_dim}, generator);
      const auto v = Tensor64::randn({s.batch, s.keys, s.value_dim}, generator);
      for (const auto& [name, options] : testing::option_sets(s, mode)) {
        SCOPED_TRACE(testing::scored_sizes_name(name + (mode == AttentionMode::kSoft ? " soft" : " hard"), s));
        const auto result = attention.forward(q, k, v, options);
        const Reference expected = reference_attention(reference_dot_scores(q, k), v.to_vector(), s, options);
        expect_all_near(result.weights.to_vector(), expected.weights, 1e-12);
        expect_all_near(result.output.to_vector(), expected.output, 1e-12);
      }
    }
  }
}

// ---- masks ----

TEST(ScoredAttention, FullyMaskedRowsGiveZerosAndZeroGradients) {
  for (AttentionMode mode : {AttentionMode::kSoft, AttentionMode::kHard}) {
    SCOPED_TRACE(mode == AttentionMode::kSoft ? "soft" : "hard");
    Generator generator(8);
    const auto score = std::make_shared<nn::GeneralScore<double>>(5, 6, generator);
    const nn::ScoredAttention<double> attention(score);
    auto q = Tensor64::randn({2, 3, 5}, generator).set_requires_grad();
    auto k = Tensor64::randn({2, 4, 6}, generator).set_requires_grad();
    auto v = Tensor64::randn({2, 4, 2}, generator).set_requires_grad();
    // Query 1 may attend nothing in either batch; batch 1 pads every key.
    const auto mask = MaskTensor::from_vector({3, 1}, {1, 0, 1});
    const auto padding = MaskTensor::from_vector({2, 4}, {0, 0, 1, 0, 1, 1, 1, 1});
    const auto result = attention.forward(q, k, v, {.mask = mask, .key_padding_mask = padding, .mode = mode});
    // Fully masked (b, i): (0, 1), (1, 0), (1, 1), (1, 2).
    const std::vector<bool> masked_row = {false, true, false, true, true, true};
    for (int64_t row = 0; row < 6; ++row) {
      double output_norm = 0, weight_total = 0;
      for (int64_t e = 0; e < 2; ++e) output_norm += std::abs(result.output.to_vector()[row * 2 + e]);
      for (int64_t j = 0; j < 4; ++j) weight_total += result.weights.to_vector()[row * 4 + j];
      if (masked_row[row]) {
        EXPECT_EQ(output_norm, 0.0) << "row " << row;
        EXPECT_EQ(weight_total, 0.0) << "row " << row;
      } else {
        EXPECT_GT(output_norm, 0.0) << "row " << row;
        EXPECT_NEAR(weight_total, 1.0, 1e-15) << "row " << row;
        EXPECT_EQ(result.weights.at({row / 3, row % 3, 2}), 0.0) << "padded key 2 attended";
      }
    }
    // A loss that reads only the masked rows has zero gradient everywhere.
    std::vector<double> projection(12, 0.0);
    for (int64_t row = 0; row < 6; ++row) {
      if (masked_row[row]) projection[row * 2] = projection[row * 2 + 1] = 1.0;
    }
    sum(mul(result.output, Tensor64::from_vector({2, 3, 2}, projection))).backward();
    expect_zero_or_undefined(q.grad(), "q");
    expect_zero_or_undefined(k.grad(), "k");
    expect_zero_or_undefined(v.grad(), "v");
    expect_zero_or_undefined(score->weight().grad(), "weight");
  }
}

TEST(ScoredAttention, KeyPaddingEqualsDroppingThePaddedKeys) {
  Generator generator(6);
  const nn::ScoredAttention<double> attention(std::make_shared<nn::ScaledDotScore<double>>());
  const auto q = Tensor64::randn({1, 3, 4}, generator);
  const auto k = Tensor64::randn({1, 5, 4}, generator);
  const auto v = Tensor64::randn({1, 5, 3}, generator);
  const auto padded =
      attention.forward(q, k, v, {.key_padding_mask = MaskTensor::from_vector({1, 5}, {0, 0, 0, 1, 1})});
  const auto dropped = attention.forward(q, k.slice(1, 0, 3), v.slice(1, 0, 3));
  expect_all_near(padded.output.to_vector(), dropped.output.to_vector(), 1e-14);
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(padded.weights.at({0, i, 3}), 0.0);
    EXPECT_EQ(padded.weights.at({0, i, 4}), 0.0);
  }
}

TEST(ScoredAttention, CausalWeightsAreLowerTriangular) {
  Generator generator(2);
  const nn::ScoredAttention<double> attention(std::make_shared<nn::DotScore<double>>());
  const auto x = Tensor64::randn({2, 5, 3}, generator);
  const auto weights = attention.forward(x, x, x, {.causal = true}).weights;
  for (int64_t b = 0; b < 2; ++b) {
    EXPECT_EQ(weights.at({b, 0, 0}), 1.0);
    for (int64_t i = 0; i < 5; ++i) {
      double total = 0;
      for (int64_t j = 0; j < 5; ++j) {
        if (j > i) {
          EXPECT_EQ(weights.at({b, i, j}), 0.0) << i << ", " << j;
        } else {
          EXPECT_GT(weights.at({b, i, j}), 0.0) << i << ", " << j;
        }
        total += weights.at({b, i, j});
      }
      EXPECT_NEAR(total, 1.0, 1e-15);
    }
  }
}

// ---- hard attention ----

TEST(ScoredAttention, HardModeGradientReachesOnlyTheValues) {
  Generator generator(12);
  const auto score = std::make_shared<nn::AdditiveScore<double>>(3, 4, 5, generator);
  const nn::ScoredAttention<double> attention(score);
  auto q = Tensor64::randn({2, 3, 3}, generator).set_requires_grad();
  auto k = Tensor64::randn({2, 6, 4}, generator).set_requires_grad();
  auto v = Tensor64::randn({2, 6, 2}, generator).set_requires_grad();
  const auto result = attention.forward(q, k, v, {.mode = AttentionMode::kHard});
  EXPECT_FALSE(result.weights.requires_grad());
  const auto projection = Tensor64::randn({2, 3, 2}, generator);
  sum(mul(result.output, projection)).backward();
  expect_zero_or_undefined(q.grad(), "q");
  expect_zero_or_undefined(k.grad(), "k");
  for (const auto& [name, parameter] : score->named_parameters()) expect_zero_or_undefined(parameter.grad(), name);
  // dL/dv[b, j, e] = sum_i P[b, i, j] projection[b, i, e], P one-hot.
  ASSERT_TRUE(v.grad().defined());
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t j = 0; j < 6; ++j) {
      for (int64_t e = 0; e < 2; ++e) {
        double expected = 0;
        for (int64_t i = 0; i < 3; ++i) expected += result.weights.at({b, i, j}) * projection.at({b, i, e});
        EXPECT_NEAR(v.grad().at({b, j, e}), expected, 1e-15);
      }
    }
  }
}

// ---- the module ----

TEST(ScoredAttention, RegistersTheScoreFunctionAsAChildModule) {
  Generator generator(1);
  const nn::ScoredAttention<float> attention(std::make_shared<nn::AdditiveScore<float>>(3, 4, 5, generator));
  const auto parameters = attention.named_parameters();
  ASSERT_EQ(parameters.size(), 3u);
  EXPECT_EQ(parameters[0].first, "score.query_weight");
  EXPECT_EQ(parameters[1].first, "score.key_weight");
  EXPECT_EQ(parameters[2].first, "score.score_weight");
  EXPECT_EQ(attention.parameter_count(), 3 * 5 + 4 * 5 + 5);
}

// ---- misuse ----

// Returns scores of the wrong shape: the module must notice.
class TransposedScore : public nn::ScoreFunction<float> {
 public:
  Tensor32 scores(const Tensor32& q, const Tensor32& k) const override { return dot_scores(q, k).transpose(1, 2); }
};

const nn::ScoredAttention<float>& dot_attention() {
  static const nn::ScoredAttention<float> attention(std::make_shared<nn::DotScore<float>>());
  return attention;
}

TEST(ScoredAttentionMisuse, KeyPaddingMaskOfTheWrongShape) {
  expect_error<ShapeError>(
      [] {
        dot_attention().forward(Tensor32::ones({2, 3, 4}), Tensor32::ones({2, 5, 4}), Tensor32::ones({2, 5, 6}),
                                {.key_padding_mask = MaskTensor::ones({2, 4})});
      },
      {"ScoredAttention", "key_padding_mask (2, 4)", "(2, 5)"});
}
TEST(ScoredAttentionMisuse, MaskThatDoesNotBroadcast) {
  expect_error<ShapeError>(
      [] {
        dot_attention().forward(Tensor32::ones({2, 3, 4}), Tensor32::ones({2, 5, 4}), Tensor32::ones({2, 5, 6}),
                                {.mask = MaskTensor::ones({3, 4})});
      },
      {"ScoredAttention", "mask (3, 4)", "(2, 3, 5)"});
}
TEST(ScoredAttentionMisuse, ValuesWithAnotherKeyCount) {
  expect_error<ShapeError>(
      [] {
        dot_attention().forward(Tensor32::ones({2, 3, 4}), Tensor32::ones({2, 5, 4}), Tensor32::ones({2, 6, 6}));
      },
      {"ScoredAttention", "(2, 3, 4)", "(2, 5, 4)", "(2, 6, 6)"});
}
TEST(ScoredAttentionMisuse, QueryOfRankTwo) {
  expect_error<ShapeError>(
      [] {
        dot_attention().forward(Tensor32::ones({3, 4}), Tensor32::ones({2, 5, 4}), Tensor32::ones({2, 5, 6}));
      },
      {"ScoredAttention", "(3, 4)", "rank 3"});
}
TEST(ScoredAttentionMisuse, ScoreFunctionReturnsTheWrongShape) {
  const nn::ScoredAttention<float> attention(std::make_shared<TransposedScore>());
  expect_error<ShapeError>(
      [&] {
        attention.forward(Tensor32::ones({2, 3, 4}), Tensor32::ones({2, 5, 4}), Tensor32::ones({2, 5, 6}));
      },
      {"ScoredAttention", "returned (2, 5, 3)", "(2, 3, 5)"});
}
TEST(ScoredAttentionMisuse, NullScoreFunction) {
  expect_error<ValueError>([] { nn::ScoredAttention<double> attention(nullptr); }, {"ScoredAttention", "null"});
}
}  // namespace
}  // namespace attend
