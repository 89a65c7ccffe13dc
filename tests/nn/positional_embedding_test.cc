// The position modules (nn/positional_embedding.h): each owns its table as a parameter, calls the
// functional form of attention/positional.h with it (tests/attention/positional_test.cc) and
// trains the rows it used.
#include "attend/nn/positional_embedding.h"

#include <gtest/gtest.h>

#include <cmath>

#include "attend/ops/reduction.h"
#include "attend/ops/elementwise.h"
#include "harness/expect_error.h"

namespace attend {
namespace {

TEST(LearnedPositionalEmbedding, ModuleReturnsRowsAndTrainsOnlyThem) {
  Generator generator(7);
  nn::LearnedPositionalEmbedding<double> embedding(6, 4, generator);
  ASSERT_EQ(embedding.named_parameters().size(), 1u);
  EXPECT_EQ(embedding.named_parameters()[0].first, "weight");
  const auto rows = embedding.forward(3, 2);  // (3, 4)
  ASSERT_EQ(rows.shape(), (Shape{3, 4}));
  for (int64_t p = 0; p < 3; ++p) {
    for (int64_t c = 0; c < 4; ++c) EXPECT_EQ(rows.at({p, c}), embedding.weight().at({p + 2, c}));
  }
  sum(rows).backward();
  const auto grad = embedding.weight().grad();
  for (int64_t p = 0; p < 6; ++p) {
    for (int64_t c = 0; c < 4; ++c) EXPECT_EQ(grad.at({p, c}), p >= 2 && p < 5 ? 1.0 : 0.0) << p << "," << c;
  }
}

TEST(LearnedPositionalEmbedding, InitialisedWithStandardDeviationTwoHundredths) {
  Generator generator(3);
  nn::LearnedPositionalEmbedding<double> embedding(64, 64, generator);
  double total = 0, squares = 0;
  const auto w = embedding.weight().to_vector();
  for (double v : w) {
    total += v;
    squares += v * v;
  }
  const double n = static_cast<double>(w.size());
  EXPECT_NEAR(total / n, 0.0, 0.002);
  EXPECT_NEAR(std::sqrt(squares / n), 0.02, 0.001);
}

TEST(RelativePositionEmbedding, ModuleCallsTheFunctionalFormsAndTrainsTheTables) {
  Generator generator(5);
  nn::RelativePositionEmbedding<double> relative(2, 3, /*with_values=*/true, generator);
  const auto names = relative.named_parameters();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].first, "keys");
  EXPECT_EQ(names[1].first, "values");
  EXPECT_EQ(relative.keys().shape(), (Shape{5, 3}));
  const auto q = Tensor64::randn({1, 2, 3, 3}, generator);
  const auto weights = Tensor64::randn({1, 2, 3, 4}, generator);
  const auto bias = relative.score_bias(q, 4, 1);
  const auto term = relative.value_term(weights, 1);
  EXPECT_EQ(bias.to_vector(), shaw_score_bias(q, relative.keys().detach(), 4, 2, 1).to_vector());
  EXPECT_EQ(term.to_vector(), shaw_value_term(weights, relative.values().detach(), 2, 1).to_vector());
  sum(add(sum(bias), sum(term))).backward();
  ASSERT_TRUE(relative.keys().grad().defined());
  ASSERT_TRUE(relative.values().grad().defined());
  // d sum(term) / d values[r, :] = total weight at distance r; row r = 0 collects i' - j >= 2.
  EXPECT_NE(relative.values().grad().at({0, 0}), 0.0);

  nn::RelativePositionEmbedding<float> keys_only(1, 2, /*with_values=*/false, generator);
  EXPECT_EQ(keys_only.parameters().size(), 1u);
  EXPECT_FALSE(keys_only.with_values());
}

TEST(T5RelativeBias, ModuleLooksUpTheBucketOfEveryPair) {
  Generator generator(9);
  nn::T5RelativeBias<double> t5(32, 128, 3, /*bidirectional=*/true, generator);
  ASSERT_EQ(t5.named_parameters().size(), 1u);
  EXPECT_EQ(t5.named_parameters()[0].first, "bias");
  const int64_t queries = 4, keys = 30, offset = 2;
  const auto bias = t5.forward(queries, keys, offset);
  ASSERT_EQ(bias.shape(), (Shape{1, 3, queries, keys}));
  for (int64_t h = 0; h < 3; ++h) {
    for (int64_t i = 0; i < queries; ++i) {
      for (int64_t j = 0; j < keys; ++j) {
        const int64_t bucket = t5_relative_bucket(j - i - offset, true, 32, 128);
        EXPECT_EQ(bias.at({0, h, i, j}), t5.bias().at({bucket, h}));
      }
    }
  }
  // The gradient of a bucket's entry counts the pairs that fall in it: distance 0 (bucket 0)
  // occurs once per query here, since every i' = i + 2 < M.
  sum(bias).backward();
  EXPECT_EQ(t5.bias().grad().at({0, 1}), static_cast<double>(queries));
}

// ---- misuse ----

TEST(PositionalMisuse, LearnedPositionsBeyondTheTable) {
  Generator generator(1);
  nn::LearnedPositionalEmbedding<float> embedding(10, 4, generator);
  expect_error<ValueError>([&] { embedding.forward(5, 6); },
                           {"learned_positional_embedding", "offset 6", "length 5", "max_length = 10", "(10, 4)"});
  expect_error<ValueError>([&] { embedding.forward(2, -1); }, {"offset = -1"});
}

TEST(PositionalMisuse, RelativeValueTermWithoutAValueTable) {
  Generator generator(1);
  nn::RelativePositionEmbedding<float> relative(2, 4, /*with_values=*/false, generator);
  expect_error<ValueError>(
      [&] {
        relative.value_term(Tensor32::ones({1, 1, 2, 3}));
      },
      {"value_term", "with_values = false", "(1, 1, 2, 3)"});
}

TEST(PositionalMisuse, T5BiasWithTooFewBuckets) {
  Generator generator(1);
  expect_error<ValueError>([&] { nn::T5RelativeBias<float>(3, 128, 2, true, generator); }, {"num_buckets = 3"});
}

}  // namespace
}  // namespace attend
