// Score functions: every functional form through the op harness (parameters as inputs, so their
// gradients are checked too) and against plain float64 loops. The modules that wrap them:
// tests/nn/score_modules_test.cc.
#include "attend/attention/score_functions.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "attention/score_function_cases.h"
#include "harness/op_harness.h"
#include "harness/expect_error.h"
#include "harness/expect_near.h"

namespace attend {
namespace {

using testing::expect_all_near;
using testing::InputSpec;
using testing::make_case;
using Sizes = testing::ScoreSizes;
using testing::kMixedScoreSizes;
using testing::kScoreSizes;
using testing::score_sizes_name;

// ---- float64 loop references; flat row-major vectors ----

double at3(const std::vector<double>& x, int64_t d1, int64_t d2, int64_t a, int64_t b, int64_t c) {
  return x[(a * d1 + b) * d2 + c];
}

// s[b, i, j] = f(b, i, j) for every (b, i, j).
std::vector<double> reference_scores(const Sizes& s, const std::function<double(int64_t, int64_t, int64_t)>& f) {
  std::vector<double> out;
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t i = 0; i < s.queries; ++i) {
      for (int64_t j = 0; j < s.keys; ++j) out.push_back(f(b, i, j));
    }
  }
  return out;
}

double reference_dot(const std::vector<double>& q, const std::vector<double>& k, const Sizes& s, int64_t b, int64_t i,
                     int64_t j) {
  double total = 0;
  for (int64_t d = 0; d < s.query_dim; ++d)
    total += at3(q, s.queries, s.query_dim, b, i, d) * at3(k, s.keys, s.key_dim, b, j, d);
  return total;
}

double reference_general(const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& w,
                         const Sizes& s, int64_t b, int64_t i, int64_t j) {
  double total = 0;
  for (int64_t d = 0; d < s.query_dim; ++d) {
    for (int64_t e = 0; e < s.key_dim; ++e) {
      total += at3(q, s.queries, s.query_dim, b, i, d) * w[d * s.key_dim + e] * at3(k, s.keys, s.key_dim, b, j, e);
    }
  }
  return total;
}

double reference_additive(const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& wq,
                          const std::vector<double>& wk, const std::vector<double>& v, const Sizes& s, int64_t b,
                          int64_t i, int64_t j) {
  double total = 0;
  for (int64_t a = 0; a < s.attention_dim; ++a) {
    double hidden = 0;
    for (int64_t d = 0; d < s.query_dim; ++d)
      hidden += at3(q, s.queries, s.query_dim, b, i, d) * wq[d * s.attention_dim + a];
    for (int64_t e = 0; e < s.key_dim; ++e) hidden += at3(k, s.keys, s.key_dim, b, j, e) * wk[e * s.attention_dim + a];
    total += v[a] * std::tanh(hidden);
  }
  return total;
}

double reference_cosine(const std::vector<double>& q, const std::vector<double>& k, double log_temperature,
                        const Sizes& s, int64_t b, int64_t i, int64_t j) {
  double qq = 0, kk = 0;
  for (int64_t d = 0; d < s.query_dim; ++d) {
    qq += at3(q, s.queries, s.query_dim, b, i, d) * at3(q, s.queries, s.query_dim, b, i, d);
    kk += at3(k, s.keys, s.key_dim, b, j, d) * at3(k, s.keys, s.key_dim, b, j, d);
  }
  const double denominator = std::max(std::sqrt(qq), 1e-8) * std::max(std::sqrt(kk), 1e-8);
  return std::exp(log_temperature) * reference_dot(q, k, s, b, i, j) / denominator;
}

// ---- harness: float32 vs float64, finite-difference gradients of every input, strided, threads ----

TEST(ScoreFunctions, DotHarness) {
  for (const Sizes& s : kScoreSizes) {
    EXPECT_OP_OK(make_case(score_sizes_name("dot_scores", s),
                           {InputSpec{{s.batch, s.queries, s.query_dim}}, InputSpec{{s.batch, s.keys, s.key_dim}}},
                           [](const auto& x) { return dot_scores(x[0], x[1]); }));
  }
}

TEST(ScoreFunctions, ScaledDotHarness) {
  for (const Sizes& s : kScoreSizes) {
    EXPECT_OP_OK(make_case(score_sizes_name("scaled_dot_scores", s),
                           {InputSpec{{s.batch, s.queries, s.query_dim}}, InputSpec{{s.batch, s.keys, s.key_dim}}},
                           [](const auto& x) { return scaled_dot_scores(x[0], x[1]); }));
  }
}

TEST(ScoreFunctions, GeneralHarness) {
  for (const auto& sizes : {kScoreSizes, kMixedScoreSizes}) {
    for (const Sizes& s : sizes) {
      EXPECT_OP_OK(make_case(score_sizes_name("general_scores", s),
                             {InputSpec{{s.batch, s.queries, s.query_dim}}, InputSpec{{s.batch, s.keys, s.key_dim}},
                              InputSpec{{s.query_dim, s.key_dim}}},
                             [](const auto& x) { return general_scores(x[0], x[1], x[2]); }));
    }
  }
}

TEST(ScoreFunctions, AdditiveHarness) {
  for (const auto& sizes : {kScoreSizes, kMixedScoreSizes}) {
    for (const Sizes& s : sizes) {
      EXPECT_OP_OK(make_case(score_sizes_name("additive_scores", s),
                             {InputSpec{{s.batch, s.queries, s.query_dim}}, InputSpec{{s.batch, s.keys, s.key_dim}},
                              InputSpec{{s.query_dim, s.attention_dim}}, InputSpec{{s.key_dim, s.attention_dim}},
                              InputSpec{{s.attention_dim}}},
                             [](const auto& x) { return additive_scores(x[0], x[1], x[2], x[3], x[4]); }));
    }
  }
}

TEST(ScoreFunctions, CosineHarness) {
  for (const Sizes& s : kScoreSizes) {
    // kAwayFromZero keeps D = 1 vectors away from |x| = 0, where the cosine jumps from -1 to 1.
    EXPECT_OP_OK(make_case(score_sizes_name("cosine_scores", s),
                           {InputSpec{{s.batch, s.queries, s.query_dim}, testing::InputKind::kAwayFromZero},
                            InputSpec{{s.batch, s.keys, s.key_dim}, testing::InputKind::kAwayFromZero}, InputSpec{{}}},
                           [](const auto& x) { return cosine_scores(x[0], x[1], x[2]); }));
  }
}

// ---- against the float64 loops ----

TEST(ScoreFunctions, MatchFloat64LoopReference) {
  Generator generator(7);
  for (const auto& sizes : {kScoreSizes, kMixedScoreSizes}) {
    for (const Sizes& s : sizes) {
      SCOPED_TRACE(score_sizes_name("reference", s));
      const auto q = Tensor64::randn({s.batch, s.queries, s.query_dim}, generator);
      const auto k = Tensor64::randn({s.batch, s.keys, s.key_dim}, generator);
      const auto w = Tensor64::randn({s.query_dim, s.key_dim}, generator);
      const auto wq = Tensor64::randn({s.query_dim, s.attention_dim}, generator);
      const auto wk = Tensor64::randn({s.key_dim, s.attention_dim}, generator);
      const auto v = Tensor64::randn({s.attention_dim}, generator);
      const auto qv = q.to_vector(), kv = k.to_vector();
      expect_all_near(
          general_scores(q, k, w).to_vector(),
          reference_scores(
              s, [&](int64_t b, int64_t i, int64_t j) { return reference_general(qv, kv, w.to_vector(), s, b, i, j); }),
          1e-12);
      expect_all_near(additive_scores(q, k, wq, wk, v).to_vector(),
                      reference_scores(s,
                                       [&](int64_t b, int64_t i, int64_t j) {
                                         return reference_additive(qv, kv, wq.to_vector(), wk.to_vector(),
                                                                   v.to_vector(), s, b, i, j);
                                       }),
                      1e-12);
      if (s.query_dim != s.key_dim) continue;
      const auto dot =
          reference_scores(s, [&](int64_t b, int64_t i, int64_t j) { return reference_dot(qv, kv, s, b, i, j); });
      expect_all_near(dot_scores(q, k).to_vector(), dot, 1e-12);
      std::vector<double> scaled = dot;
      for (double& x : scaled) x /= std::sqrt(static_cast<double>(s.query_dim));
      expect_all_near(scaled_dot_scores(q, k).to_vector(), scaled, 1e-12);
      expect_all_near(cosine_scores(q, k, Tensor64::scalar(0.7)).to_vector(),
                      reference_scores(s, [&](int64_t b, int64_t i,
                                              int64_t j) { return reference_cosine(qv, kv, 0.7, s, b, i, j); }),
                      1e-12);
    }
  }
}

TEST(ScoreFunctions, KnownValues) {
  // q = [1, 2], k rows [3, 4] and [-2, 1]: dots 11 and 0.
  const auto q = Tensor64::from_vector({1, 1, 2}, {1, 2});
  const auto k = Tensor64::from_vector({1, 2, 2}, {3, 4, -2, 1});
  EXPECT_EQ(dot_scores(q, k).to_vector(), (std::vector<double>{11, 0}));
  expect_all_near(scaled_dot_scores(q, k).to_vector(), {11 / std::sqrt(2.0), 0}, 1e-15);
  // W = [[0, 1], [1, 0]] swaps k's entries: q . (4, 3) = 10 and q . (1, -2) = -3.
  EXPECT_EQ(general_scores(q, k, Tensor64::from_vector({2, 2}, {0, 1, 1, 0})).to_vector(),
            (std::vector<double>{10, -3}));
  // cos(q, k0) = 11 / (sqrt(5) * 5); cos(q, k1) = 0; times exp(log 3) = 3.
  expect_all_near(cosine_scores(q, k, Tensor64::scalar(std::log(3.0))).to_vector(), {3 * 11 / (std::sqrt(5.0) * 5), 0},
                  1e-15);
  // A = 1: v tanh(q . wq + k_j . wk) with wq = (1, 0), wk = (0, 1), v = 2: 2 tanh(1 + 4), 2 tanh(1 + 1).
  const auto additive = additive_scores(q, k, Tensor64::from_vector({2, 1}, {1, 0}),
                                        Tensor64::from_vector({2, 1}, {0, 1}), Tensor64::from_vector({1}, {2}));
  expect_all_near(additive.to_vector(), {2 * std::tanh(5.0), 2 * std::tanh(2.0)}, 1e-15);
}

TEST(ScoreFunctions, AdditiveFromProjectionsIsAdditiveScores) {
  Generator generator(8);
  const auto q = Tensor64::randn({2, 3, 4}, generator),
             k = Tensor64::randn({2, 5, 6}, generator);  // (B, N, Dq), (B, M, Dk)
  const auto wq = Tensor64::randn({4, 7}, generator), wk = Tensor64::randn({6, 7}, generator);  // (Dq, A), (Dk, A)
  const auto v = Tensor64::randn({7}, generator);                                               // (A)
  expect_all_near(additive_scores_from_projections(matmul(q, wq), matmul(k, wk), v).to_vector(),
                  additive_scores(q, k, wq, wk, v).to_vector(), 1e-14);
}

TEST(ScoreFunctions, CosineOfAZeroVectorIsFiniteWithFiniteGradients) {
  for (bool zero_key : {false, true}) {
    auto q = Tensor64::from_vector({1, 2, 3}, {0, 0, 0, 1, 2, 2});
    auto k = Tensor64::from_vector({1, 2, 3}, {2, 0, 0, 0, 0, 0});
    if (!zero_key) k = Tensor64::from_vector({1, 2, 3}, {2, 0, 0, 0, 3, 4});
    auto log_temperature = Tensor64::scalar(std::log(2.0));
    q.set_requires_grad();
    k.set_requires_grad();
    log_temperature.set_requires_grad();
    const auto scores = cosine_scores(q, k, log_temperature);  // (1, 2, 2)
    const auto values = scores.to_vector();
    for (double x : values) EXPECT_TRUE(std::isfinite(x));
    EXPECT_EQ(values[0], 0.0);  // zero query
    EXPECT_EQ(values[1], 0.0);
    EXPECT_NEAR(values[2], 2 * (1.0 / 3.0), 1e-15);  // cos((1, 2, 2), (2, 0, 0)) = 2 / 6
    EXPECT_NEAR(values[3], zero_key ? 0.0 : 2 * (14.0 / 15.0), 1e-15);
    sum(mul(scores, Tensor64::from_vector({1, 2, 2}, {1, -2, 3, 0.5}))).backward();
    for (const auto& g : {q.grad(), k.grad(), log_temperature.grad()}) {
      for (double x : g.to_vector()) EXPECT_TRUE(std::isfinite(x));
    }
    // d/d log_temperature of sum(w * s) is sum(w * s) itself.
    EXPECT_NEAR(log_temperature.grad().item(), 3 * values[2] + 0.5 * values[3], 1e-14);
  }
}

TEST(ScoreFunctions, CosineIsBoundedByTheTemperature) {
  Generator generator(3);
  const auto q = Tensor64::randn({2, 4, 6}, generator);
  const auto scores = cosine_scores(q, q, Tensor64::scalar(std::log(5.0))).to_vector();  // (2, 4, 4)
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t i = 0; i < 4; ++i) {
      for (int64_t j = 0; j < 4; ++j) {
        const double s = scores[(b * 4 + i) * 4 + j];
        EXPECT_LE(std::abs(s), 5.0 + 1e-12);
        if (i == j) {
          EXPECT_NEAR(s, 5.0, 1e-12);
        }
      }
    }
  }
}

// ---- modules ----

// ---- misuse: the exception type and the offending shapes in the message ----

TEST(ScoreFunctionsMisuse, DotFeatureSizesDiffer) {
  expect_error<ShapeError>(
      [] {
        dot_scores(Tensor32::ones({2, 3, 4}), Tensor32::ones({2, 5, 6}));
      },
      {"dot_scores", "(2, 3, 4)", "(2, 5, 6)", "4 != 6"});
}
TEST(ScoreFunctionsMisuse, ScaledDotQueryOfRankTwo) {
  expect_error<ShapeError>(
      [] {
        scaled_dot_scores(Tensor32::ones({3, 4}), Tensor32::ones({2, 5, 4}));
      },
      {"scaled_dot_scores", "(3, 4)", "(2, 5, 4)", "rank 3"});
}
TEST(ScoreFunctionsMisuse, BatchSizesDiffer) {
  expect_error<ShapeError>(
      [] {
        dot_scores(Tensor64::ones({2, 3, 4}), Tensor64::ones({3, 5, 4}));
      },
      {"dot_scores", "(2, 3, 4)", "(3, 5, 4)", "2 != 3"});
}
TEST(ScoreFunctionsMisuse, GeneralWeightOfTheWrongShape) {
  expect_error<ShapeError>(
      [] {
        general_scores(Tensor32::ones({2, 3, 4}), Tensor32::ones({2, 5, 6}), Tensor32::ones({4, 5}));
      },
      {"general_scores", "weight (4, 5)", "(4, 6)", "(2, 3, 4)", "(2, 5, 6)"});
}
TEST(ScoreFunctionsMisuse, AdditiveKeyWeightWithAnotherAttentionDim) {
  expect_error<ShapeError>(
      [] {
        additive_scores(Tensor32::ones({2, 3, 4}), Tensor32::ones({2, 5, 6}), Tensor32::ones({4, 8}),
                        Tensor32::ones({6, 7}), Tensor32::ones({8}));
      },
      {"additive_scores", "key_weight (6, 7)", "(6, 8)", "(4, 8)"});
}
TEST(ScoreFunctionsMisuse, AdditiveScoreWeightOfTheWrongSize) {
  expect_error<ShapeError>(
      [] {
        additive_scores(Tensor32::ones({2, 3, 4}), Tensor32::ones({2, 5, 6}), Tensor32::ones({4, 8}),
                        Tensor32::ones({6, 8}), Tensor32::ones({8, 1}));
      },
      {"additive_scores", "score_weight (8, 1)", "(8)"});
}
TEST(ScoreFunctionsMisuse, AdditiveQueryWeightForAnotherQuerySize) {
  expect_error<ShapeError>(
      [] {
        additive_scores(Tensor32::ones({2, 3, 4}), Tensor32::ones({2, 5, 6}), Tensor32::ones({5, 8}),
                        Tensor32::ones({6, 8}), Tensor32::ones({8}));
      },
      {"additive_scores", "query_weight (5, 8)", "(2, 3, 4)"});
}
TEST(ScoreFunctionsMisuse, AdditiveProjectionsOfDifferentAttentionDims) {
  expect_error<ShapeError>(
      [] {
        additive_scores_from_projections(Tensor32::ones({2, 1, 4}), Tensor32::ones({2, 5, 3}), Tensor32::ones({4}));
      },
      {"additive_scores", "(2, 1, 4)", "(2, 5, 3)"});
}
TEST(ScoreFunctionsMisuse, CosineTemperatureThatIsNotAScalar) {
  expect_error<ShapeError>(
      [] {
        cosine_scores(Tensor64::ones({1, 2, 3}), Tensor64::ones({1, 4, 3}), Tensor64::ones({1}));
      },
      {"cosine_scores", "log_temperature (1)", "scalar ()"});
}
}  // namespace
}  // namespace attend
