// Attention pooling: the functional forms (parameters as inputs) through the harness and against
// float64 loops, with key padding. The module: tests/nn/attention_pooling_test.cc.
#include "attend/attention/attention_pooling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "attention/attention_pooling_cases.h"
#include "harness/op_harness.h"
#include "harness/expect_error.h"
#include "harness/expect_near.h"

namespace attend {
namespace {

using testing::expect_all_near;
using testing::InputSpec;
using testing::make_case;
using Sizes = testing::PoolingSizes;
using testing::kPoolingSizes;
using testing::pooling_padding_mask;
using testing::pooling_sizes_name;

// ---- float64 loop reference ----

struct Reference {
  std::vector<double> output;   // (B, D)
  std::vector<double> weights;  // (B, N)
};

// x (B, N, D) and scores (B, N) flat; padding (B, N) or empty.
Reference reference_pool(const std::vector<double>& x, const std::vector<double>& scores,
                         const std::vector<uint8_t>& padding, const Sizes& s) {
  Reference r;
  r.output.assign(s.batch * s.dim, 0.0);
  r.weights.assign(s.batch * s.length, 0.0);
  for (int64_t b = 0; b < s.batch; ++b) {
    auto kept = [&](int64_t n) { return padding.empty() || padding[b * s.length + n] == 0; };
    double row_max = -INFINITY;
    for (int64_t n = 0; n < s.length; ++n) {
      if (kept(n)) row_max = std::max(row_max, scores[b * s.length + n]);
    }
    if (row_max == -INFINITY) continue;
    double total = 0;
    for (int64_t n = 0; n < s.length; ++n) {
      if (kept(n)) total += std::exp(scores[b * s.length + n] - row_max);
    }
    for (int64_t n = 0; n < s.length; ++n) {
      if (!kept(n)) continue;
      const double weight = std::exp(scores[b * s.length + n] - row_max) / total;
      r.weights[b * s.length + n] = weight;
      for (int64_t d = 0; d < s.dim; ++d) r.output[b * s.dim + d] += weight * x[(b * s.length + n) * s.dim + d];
    }
  }
  return r;
}

std::vector<double> reference_learned_query_scores(const std::vector<double>& x, const std::vector<double>& query,
                                                   const Sizes& s) {
  std::vector<double> scores;
  for (int64_t row = 0; row < s.batch * s.length; ++row) {
    double total = 0;
    for (int64_t d = 0; d < s.dim; ++d) total += x[row * s.dim + d] * query[d];
    scores.push_back(total / std::sqrt(static_cast<double>(s.dim)));
  }
  return scores;
}

// weight (A, D), bias (A), score_weight (A).
std::vector<double> reference_additive_scores(const std::vector<double>& x, const std::vector<double>& weight,
                                              const std::vector<double>& bias, const std::vector<double>& score_weight,
                                              const Sizes& s) {
  std::vector<double> scores;
  for (int64_t row = 0; row < s.batch * s.length; ++row) {
    double total = 0;
    for (int64_t a = 0; a < s.attention_dim; ++a) {
      double hidden = bias[a];
      for (int64_t d = 0; d < s.dim; ++d) hidden += weight[a * s.dim + d] * x[row * s.dim + d];
      total += score_weight[a] * std::tanh(hidden);
    }
    scores.push_back(total);
  }
  return scores;
}

// ---- harness ----

TEST(AttentionPooling, FunctionalHarness) {
  for (const Sizes& s : kPoolingSizes) {
    for (bool padded : {false, true}) {
      const MaskTensor padding = padded ? pooling_padding_mask(s.batch, s.length) : MaskTensor();
      const std::string suffix = padded ? " padded" : "";
      const InputSpec x{{s.batch, s.length, s.dim}};
      EXPECT_OP_OK(
          make_case(pooling_sizes_name("learned_query_pooling output" + suffix, s), {x, InputSpec{{s.dim}}},
                    [padding](const auto& in) { return learned_query_pooling(in[0], in[1], padding).output; }));
      EXPECT_OP_OK(
          make_case(pooling_sizes_name("learned_query_pooling weights" + suffix, s), {x, InputSpec{{s.dim}}},
                    [padding](const auto& in) { return learned_query_pooling(in[0], in[1], padding).weights; }));
      const std::vector<InputSpec> additive_inputs = {x, InputSpec{{s.attention_dim, s.dim}},
                                                      InputSpec{{s.attention_dim}}, InputSpec{{s.attention_dim}}};
      EXPECT_OP_OK(make_case(
          pooling_sizes_name("additive_pooling output" + suffix, s), additive_inputs,
          [padding](const auto& in) { return additive_pooling(in[0], in[1], in[2], in[3], padding).output; }));
      EXPECT_OP_OK(make_case(
          pooling_sizes_name("additive_pooling weights" + suffix, s), additive_inputs,
          [padding](const auto& in) { return additive_pooling(in[0], in[1], in[2], in[3], padding).weights; }));
      EXPECT_OP_OK(make_case(pooling_sizes_name("pool_with_scores" + suffix, s), {x, InputSpec{{s.batch, s.length}}},
                             [padding](const auto& in) { return pool_with_scores(in[0], in[1], padding).output; }));
    }
  }
}

// ---- against the float64 loops ----

TEST(AttentionPooling, MatchesFloat64LoopReference) {
  Generator generator(17);
  for (const Sizes& s : kPoolingSizes) {
    for (bool padded : {false, true}) {
      SCOPED_TRACE(pooling_sizes_name(padded ? "padded" : "unpadded", s));
      const MaskTensor padding = padded ? pooling_padding_mask(s.batch, s.length) : MaskTensor();
      const std::vector<uint8_t> padding_values = padded ? padding.to_vector() : std::vector<uint8_t>();
      const auto x = Tensor64::randn({s.batch, s.length, s.dim}, generator);
      const auto query = Tensor64::randn({s.dim}, generator);
      const auto weight = Tensor64::randn({s.attention_dim, s.dim}, generator);
      const auto bias = Tensor64::randn({s.attention_dim}, generator);
      const auto score_weight = Tensor64::randn({s.attention_dim}, generator);

      const auto learned = learned_query_pooling(x, query, padding);
      const Reference expected_learned = reference_pool(
          x.to_vector(), reference_learned_query_scores(x.to_vector(), query.to_vector(), s), padding_values, s);
      expect_all_near(learned.output.to_vector(), expected_learned.output, 1e-12);
      expect_all_near(learned.weights.to_vector(), expected_learned.weights, 1e-12);

      const auto additive = additive_pooling(x, weight, bias, score_weight, padding);
      const Reference expected_additive = reference_pool(
          x.to_vector(),
          reference_additive_scores(x.to_vector(), weight.to_vector(), bias.to_vector(), score_weight.to_vector(), s),
          padding_values, s);
      expect_all_near(additive.output.to_vector(), expected_additive.output, 1e-12);
      expect_all_near(additive.weights.to_vector(), expected_additive.weights, 1e-12);
    }
  }
}

TEST(AttentionPooling, KnownValues) {
  // Scores 0 and log 3: weights 1/4 and 3/4 of x rows (4, 0) and (0, 8) -> (1, 6).
  const auto x = Tensor64::from_vector({1, 2, 2}, {4, 0, 0, 8});
  const auto result = pool_with_scores(x, Tensor64::from_vector({1, 2}, {0, std::log(3.0)}));
  expect_all_near(result.weights.to_vector(), {0.25, 0.75}, 1e-15);
  expect_all_near(result.output.to_vector(), {1, 6}, 1e-14);
  // A zero query scores every element 0: the mean.
  expect_all_near(learned_query_pooling(x, Tensor64::zeros({2})).output.to_vector(), {2, 4}, 1e-15);
}

// ---- misuse ----

TEST(AttentionPoolingMisuse, InputOfRankTwo) {
  expect_error<ShapeError>(
      [] {
        learned_query_pooling(Tensor32::ones({3, 4}), Tensor32::ones({4}));
      },
      {"learned_query_pooling", "x (3, 4)", "rank 3"});
}
TEST(AttentionPoolingMisuse, QueryOfAnotherSize) {
  expect_error<ShapeError>(
      [] {
        learned_query_pooling(Tensor32::ones({2, 3, 4}), Tensor32::ones({5}));
      },
      {"learned_query_pooling", "query (5)", "(4)", "(2, 3, 4)"});
}
TEST(AttentionPoolingMisuse, KeyPaddingMaskOfTheWrongShape) {
  expect_error<ShapeError>(
      [] {
        learned_query_pooling(Tensor64::ones({2, 3, 4}), Tensor64::ones({4}), MaskTensor::zeros({3, 2}));
      },
      {"learned_query_pooling", "key_padding_mask (3, 2)", "(2, 3)", "(2, 3, 4)"});
}
TEST(AttentionPoolingMisuse, AdditiveWeightForAnotherDim) {
  expect_error<ShapeError>(
      [] {
        additive_pooling(Tensor32::ones({2, 3, 4}), Tensor32::ones({5, 3}), Tensor32::ones({5}), Tensor32::ones({5}));
      },
      {"additive_pooling", "weight (5, 3)", "D = 4", "(2, 3, 4)"});
}
TEST(AttentionPoolingMisuse, AdditiveBiasOfAnotherSize) {
  expect_error<ShapeError>(
      [] {
        additive_pooling(Tensor32::ones({2, 3, 4}), Tensor32::ones({5, 4}), Tensor32::ones({6}), Tensor32::ones({5}));
      },
      {"additive_pooling", "bias (6)", "(5)", "weight (5, 4)"});
}
TEST(AttentionPoolingMisuse, ScoresOfTheWrongShape) {
  expect_error<ShapeError>(
      [] {
        pool_with_scores(Tensor64::ones({2, 3, 4}), Tensor64::ones({2, 4}));
      },
      {"pool_with_scores", "scores (2, 4)", "(2, 3)"});
}
}  // namespace
}  // namespace attend
