// Positional encodings: every function through the op harness, known values computed here in
// float64 independently of the library, the properties each encoding exists for, and misuse.
// The modules that own the tables: tests/nn/positional_embedding_test.cc.
#include "attend/attention/positional.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "harness/op_harness.h"
#include "harness/expect_error.h"
#include "harness/expect_near.h"

namespace attend {
namespace {

using testing::expect_all_near;
using testing::InputSpec;
using testing::make_case;

// The element type T of a harness input list std::vector<Tensor<T>>.
template <typename Inputs>
using ElementOf = typename std::decay_t<Inputs>::value_type::value_type;

// ---- sinusoidal ----

TEST(SinusoidalPositionalEncoding, Harness) {
  const std::vector<std::pair<int64_t, int64_t>> sizes = {{1, 1}, {1, 2}, {5, 8}, {7, 9}, {33, 3}, {0, 4}};
  for (const auto& [length, dim] : sizes) {
    auto op = make_case(fmt::format("sinusoidal length {} dim {}", length, dim), {}, [length, dim](const auto& x) {
      return sinusoidal_positional_encoding<ElementOf<decltype(x)>>(length, dim);
    });
    op.differentiable = false;
    EXPECT_OP_OK(op);
  }
}

TEST(SinusoidalPositionalEncoding, RowZeroAlternatesZeroAndOne) {
  EXPECT_EQ(sinusoidal_positional_encoding<double>(1, 6).to_vector(), (std::vector<double>{0, 1, 0, 1, 0, 1}));
  // An odd dim ends with a sin column.
  EXPECT_EQ(sinusoidal_positional_encoding<float>(3, 5).slice(0, 0, 1).to_vector(),
            (std::vector<float>{0, 1, 0, 1, 0}));
}

TEST(SinusoidalPositionalEncoding, KnownValues) {
  // dim 4, base 10000: the frequencies are 1 and 10000^(-2/4) = 1/100.
  const auto pe = sinusoidal_positional_encoding<double>(3, 4);
  ASSERT_EQ(pe.shape(), (Shape{3, 4}));
  expect_all_near(pe.slice(0, 2, 3).to_vector(), {std::sin(2.0), std::cos(2.0), std::sin(0.02), std::cos(0.02)}, 1e-15);
  // Every entry against the paper's formula, odd dim and another base, in float and double.
  const int64_t length = 50, dim = 7;
  const double base = 500;
  std::vector<double> expected;
  for (int64_t p = 0; p < length; ++p) {
    for (int64_t c = 0; c < dim; ++c) {
      const double angle = static_cast<double>(p) / std::pow(base, static_cast<double>(2 * (c / 2)) / dim);
      expected.push_back(c % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
  }
  expect_all_near(sinusoidal_positional_encoding<double>(length, dim, base).to_vector(), expected, 1e-12);
  const auto pe32 = sinusoidal_positional_encoding<float>(length, dim, base).to_vector();
  expect_all_near(std::vector<double>(pe32.begin(), pe32.end()), expected, 1e-7);
}

// ---- learned ----

TEST(LearnedPositionalEmbedding, Harness) {
  struct Case {
    Shape weight;
    int64_t length, offset;
  };
  for (const Case& c : std::vector<Case>{{{1, 1}, 1, 0}, {{7, 5}, 3, 2}, {{7, 5}, 7, 0}, {{9, 3}, 1, 8}}) {
    EXPECT_OP_OK(make_case(fmt::format("learned {} length {} offset {}", shape_string(c.weight), c.length, c.offset),
                           {InputSpec{c.weight}},
                           [c](const auto& x) { return learned_positional_embedding(x[0], c.length, c.offset); }));
  }
}

// ---- Shaw et al. relative positions ----

int64_t shaw_index(int64_t i, int64_t j, int64_t max_distance, int64_t offset) {
  return std::clamp(j - (i + offset), -max_distance, max_distance) + max_distance;
}

struct ShawCase {
  Shape q;  // (B, H, N, D)
  int64_t keys, max_distance, offset;
};

const std::vector<ShawCase> kShawCases = {
    {{1, 1, 1, 1}, 1, 0, 0},   // a single query, key and distance
    {{2, 3, 5, 4}, 5, 2, 0},   // clipping on both sides
    {{1, 2, 3, 3}, 7, 1, 4},   // bottom-right: 3 new queries after 4 cached keys
    {{2, 1, 4, 5}, 2, 3, -1},  // more queries than keys, negative offset
    {{1, 1, 2, 3}, 3, 6, 0},   // K beyond every distance present: no clipping at all
};

TEST(ShawRelativePosition, ScoreBiasHarness) {
  for (const ShawCase& c : kShawCases) {
    const int64_t distances = 2 * c.max_distance + 1;
    EXPECT_OP_OK(make_case(
        fmt::format("shaw_score_bias q {} M {} K {} offset {}", shape_string(c.q), c.keys, c.max_distance, c.offset),
        {InputSpec{c.q}, InputSpec{{distances, c.q[3]}}},
        [c](const auto& x) { return shaw_score_bias(x[0], x[1], c.keys, c.max_distance, c.offset); }));
  }
}

TEST(ShawRelativePosition, ValueTermHarness) {
  for (const ShawCase& c : kShawCases) {
    const int64_t distances = 2 * c.max_distance + 1;
    const Shape weights{c.q[0], c.q[1], c.q[2], c.keys};
    const int64_t value_dim = c.q[3] + 1;  // D_v need not equal D
    EXPECT_OP_OK(
        make_case(fmt::format("shaw_value_term P {} K {} offset {}", shape_string(weights), c.max_distance, c.offset),
                  {InputSpec{weights}, InputSpec{{distances, value_dim}}},
                  [c](const auto& x) { return shaw_value_term(x[0], x[1], c.max_distance, c.offset); }));
  }
}

TEST(ShawRelativePosition, MatchesLoopReference) {
  const int64_t batch = 2, heads = 2, queries = 4, keys = 6, dim = 3, max_distance = 2, offset = 1;
  Generator generator(11);
  const auto q = Tensor64::randn({batch, heads, queries, dim}, generator);
  const auto key_table = Tensor64::randn({2 * max_distance + 1, dim}, generator);
  const auto weights = Tensor64::randn({batch, heads, queries, keys}, generator);
  const auto value_table = Tensor64::randn({2 * max_distance + 1, dim}, generator);
  const auto bias = shaw_score_bias(q, key_table, keys, max_distance, offset);
  const auto term = shaw_value_term(weights, value_table, max_distance, offset);
  ASSERT_EQ(bias.shape(), (Shape{batch, heads, queries, keys}));
  ASSERT_EQ(term.shape(), (Shape{batch, heads, queries, dim}));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t i = 0; i < queries; ++i) {
        for (int64_t j = 0; j < keys; ++j) {
          double expected = 0;
          const int64_t r = shaw_index(i, j, max_distance, offset);
          for (int64_t d = 0; d < dim; ++d) expected += q.at({b, h, i, d}) * key_table.at({r, d});
          EXPECT_NEAR(bias.at({b, h, i, j}), expected, 1e-13);
        }
        for (int64_t d = 0; d < dim; ++d) {
          double expected = 0;
          for (int64_t j = 0; j < keys; ++j) {
            expected += weights.at({b, h, i, j}) * value_table.at({shaw_index(i, j, max_distance, offset), d});
          }
          EXPECT_NEAR(term.at({b, h, i, d}), expected, 1e-13);
        }
      }
    }
  }
  // Spot check of the clipping itself: query 0 sits at key 1, so key 5 is 4 > K = 2 ahead and
  // uses the last row; key 0 is 1 behind and uses row K - 1.
  EXPECT_EQ(shaw_index(0, 5, max_distance, offset), 4);
  EXPECT_EQ(shaw_index(0, 0, max_distance, offset), 1);
}

// Self-attention with relative positions as Shaw et al. write it:
//   S = (Q K^T + bias) * scale,  P = softmax(S),  O = P V + value_term(P).
template <typename T>
Tensor<T> shaw_attention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v, const Tensor<T>& key_table,
                         const Tensor<T>& value_table, int64_t max_distance) {
  const T scale = T(1) / std::sqrt(static_cast<T>(q.size(-1)));
  const auto scores =
      mul_scalar(add(matmul(q, k.transpose(-1, -2)), shaw_score_bias(q, key_table, k.size(-2), max_distance)), scale);
  const auto weights = softmax(scores, -1);
  return add(matmul(weights, v), shaw_value_term(weights, value_table, max_distance));
}

TEST(ShawRelativePosition, AttentionLayerHarness) {
  // K = 2: tables of 2K + 1 = 5 rows; 5 queries and keys reach both clipped ends.
  const Shape qkv{1, 2, 5, 4};
  EXPECT_OP_OK(
      make_case("shaw attention (1, 2, 5, 4) K 2",
                {InputSpec{qkv}, InputSpec{qkv}, InputSpec{qkv}, InputSpec{{5, 4}}, InputSpec{{5, 4}}},
                [](const auto& x) { return shaw_attention(x[0], x[1], x[2], x[3], x[4], /*max_distance=*/2); }));
}

// ---- T5 buckets ----

TEST(T5RelativeBucket, KnownBucketsBidirectional32Buckets128Distance) {
  // 16 buckets per sign, 8 exact; beyond: 8 + floor(log(d / 8) / log(128 / 8) * 8), at most 15;
  // keys after the query (d > 0) add 16. E.g. d = 20: 8 + floor(2.64) = 10, so 26.
  const std::vector<std::pair<int64_t, int64_t>> expected = {
      {0, 0},    {1, 17},    {-1, 1}, {7, 23},   {8, 24},  {20, 26},
      {200, 31}, {-200, 15}, {-8, 8}, {-20, 10}, {16, 26}, {127, 31},
  };
  for (const auto& [relative, bucket] : expected) {
    EXPECT_EQ(t5_relative_bucket(relative, true, 32, 128), bucket) << "relative position " << relative;
  }
}

TEST(T5RelativeBucket, KnownBucketsCausal32Buckets128Distance) {
  // 32 buckets for keys at or before the query, 16 exact; keys after it share bucket 0.
  // d = 20 before: 16 + floor(log(20 / 16) / log(128 / 16) * 16) = 16 + floor(1.72) = 17.
  const std::vector<std::pair<int64_t, int64_t>> expected = {
      {0, 0}, {5, 0}, {-1, 1}, {-15, 15}, {-16, 16}, {-20, 17}, {-127, 31}, {-200, 31},
  };
  for (const auto& [relative, bucket] : expected) {
    EXPECT_EQ(t5_relative_bucket(relative, false, 32, 128), bucket) << "relative position " << relative;
  }
}

TEST(T5RelativeBucket, BucketsGrowWithDistanceAndStayInRange) {
  for (bool bidirectional : {true, false}) {
    int64_t previous = -1;
    for (int64_t d = 0; d < 1000; ++d) {
      const int64_t bucket = t5_relative_bucket(-d, bidirectional, 32, 128);
      EXPECT_GE(bucket, previous);
      EXPECT_LT(bucket, bidirectional ? 16 : 32);
      previous = bucket;
    }
  }
  EXPECT_EQ(t5_relative_bucket(int64_t{1} << 62, true, 32, 128), 31);
  EXPECT_EQ(t5_relative_bucket(-(int64_t{1} << 62), false, 32, 128), 31);
}

TEST(T5RelativeBias, Harness) {
  struct Case {
    int64_t queries, keys, offset;
    bool bidirectional;
  };
  // 8 buckets, max distance 20: small enough that these sizes reach the logarithmic buckets.
  const std::vector<Case> cases = {
      {1, 1, 0, true}, {5, 7, 0, true}, {3, 9, 6, false}, {4, 4, 0, false}, {6, 3, -2, true}};
  for (const Case& c : cases) {
    for (int64_t heads : {1, 3}) {
      EXPECT_OP_OK(make_case(fmt::format("t5_relative_bias N {} M {} offset {} bidirectional {} heads {}", c.queries,
                                         c.keys, c.offset, c.bidirectional, heads),
                             {InputSpec{{8, heads}}}, [c](const auto& x) {
                               return t5_relative_bias(x[0], c.queries, c.keys, c.bidirectional, 20, c.offset);
                             }));
    }
  }
}

// ---- rotary ----

struct RotaryCase {
  Shape x;
  int64_t offset;
  double base;
};

TEST(RotaryEmbedding, Harness) {
  const std::vector<RotaryCase> cases = {
      {{1, 1, 1, 2}, 0, 10000}, {{2, 3, 5, 8}, 0, 10000},    {{1, 2, 7, 6}, 3, 10000},
      {{3, 10}, 100, 500},      {{2, 1, 1, 4}, 4096, 10000},
  };
  for (const RotaryCase& c : cases) {
    for (RotaryStyle style : {RotaryStyle::kHalf, RotaryStyle::kInterleaved}) {
      EXPECT_OP_OK(make_case(fmt::format("rotary {} offset {} base {} {}", shape_string(c.x), c.offset, c.base,
                                         style == RotaryStyle::kHalf ? "half" : "interleaved"),
                             {InputSpec{c.x}}, [c, style](const auto& x) {
                               return apply_rotary_embedding(x[0], c.offset, c.base, style);
                             }));
    }
  }
}

TEST(RotaryEmbedding, KnownValuesAtPositionOne) {
  // D = 4: theta_0 = 1 and theta_1 = 10000^(-2/4) = 1/100; at position 1 the angles are 1 and 0.01.
  const auto x = Tensor64::from_vector({2, 4}, {9, 9, 9, 9, 1, 2, 3, 4});  // row 1 is position 1
  const double c1 = std::cos(1.0), s1 = std::sin(1.0), c2 = std::cos(0.01), s2 = std::sin(0.01);
  // Half: pairs (0, 2) and (1, 3).
  const auto half = apply_rotary_embedding(x, 0, 10000, RotaryStyle::kHalf);
  expect_all_near(half.slice(0, 1, 2).to_vector(), {1 * c1 - 3 * s1, 2 * c2 - 4 * s2, 1 * s1 + 3 * c1, 2 * s2 + 4 * c2},
                  1e-15);
  // Interleaved: pairs (0, 1) and (2, 3).
  const auto interleaved = apply_rotary_embedding(x, 0, 10000, RotaryStyle::kInterleaved);
  expect_all_near(interleaved.slice(0, 1, 2).to_vector(),
                  {1 * c1 - 2 * s1, 1 * s1 + 2 * c1, 3 * c2 - 4 * s2, 3 * s2 + 4 * c2}, 1e-15);
  // Position 0 is the identity.
  EXPECT_EQ(half.slice(0, 0, 1).to_vector(), (std::vector<double>{9, 9, 9, 9}));
}

double rotated_dot(const Tensor64& q, int64_t query_position, const Tensor64& k, int64_t key_position,
                   RotaryStyle style) {
  const auto rq = apply_rotary_embedding(q, query_position, 10000, style).to_vector();
  const auto rk = apply_rotary_embedding(k, key_position, 10000, style).to_vector();
  double total = 0;
  for (size_t i = 0; i < rq.size(); ++i) total += rq[i] * rk[i];
  return total;
}

TEST(RotaryEmbedding, DotProductDependsOnlyOnRelativePosition) {
  Generator generator(13);
  const auto q = Tensor64::randn({1, 1, 1, 16}, generator);
  const auto k = Tensor64::randn({1, 1, 1, 16}, generator);
  for (RotaryStyle style : {RotaryStyle::kHalf, RotaryStyle::kInterleaved}) {
    const double at_5_2 = rotated_dot(q, 5, k, 2, style);
    for (int64_t shift : {1, 37, 1000}) {
      EXPECT_NEAR(rotated_dot(q, 5 + shift, k, 2 + shift, style), at_5_2, 1e-11) << "shift " << shift;
    }
    // And it does depend on the distance: 3 apart is not 4 apart, nor the unrotated product.
    EXPECT_GT(std::abs(rotated_dot(q, 6, k, 2, style) - at_5_2), 1e-3);
    EXPECT_GT(std::abs(rotated_dot(q, 0, k, 0, style) - at_5_2), 1e-3);
  }
}

TEST(RotaryEmbedding, PreservesNormsAndMatchesASliceOfALongerSequence) {
  Generator generator(17);
  const auto x = Tensor64::randn({2, 3, 9, 10}, generator);
  const auto full = apply_rotary_embedding(x, 0);
  // Rotation keeps every pair's length.
  const auto before = sum(square(x), {-1}).to_vector();
  expect_all_near(sum(square(full), {-1}).to_vector(), before, 1e-12);
  // Rows 4..8 of the whole sequence = rows 0..4 of the tail rotated from offset 4 (a KV cache).
  const auto tail = apply_rotary_embedding(x.slice(2, 4, 9), 4);
  expect_all_near(tail.to_vector(), full.slice(2, 4, 9).to_vector(), 1e-13);
}

TEST(RotaryEmbedding, StylesAgreeUpToAPermutationOfTheFeatures) {
  // interleaved(x) = unpermute(half(permute(x))) where permute puts x[2i] at i, x[2i+1] at i + D/2.
  Generator generator(19);
  const int64_t dim = 8;
  const auto x = Tensor64::randn({1, 2, 5, dim}, generator);
  std::vector<int64_t> to_half(dim), to_interleaved(dim);
  for (int64_t i = 0; i < dim / 2; ++i) {
    to_half[i] = 2 * i;
    to_half[i + dim / 2] = 2 * i + 1;
    to_interleaved[2 * i] = i;
    to_interleaved[2 * i + 1] = i + dim / 2;
  }
  const auto by_half =
      index_select(apply_rotary_embedding(index_select(x, -1, IndexTensor::from_vector({dim}, to_half)), 3, 10000,
                                          RotaryStyle::kHalf),
                   -1, IndexTensor::from_vector({dim}, to_interleaved));
  const auto interleaved = apply_rotary_embedding(x, 3, 10000, RotaryStyle::kInterleaved);
  expect_all_near(interleaved.to_vector(), by_half.to_vector(), 1e-15);
}

// ---- misuse: the exception type, and a message that names the call and the numbers ----

TEST(PositionalMisuse, SinusoidalWithZeroDim) {
  expect_error<ValueError>([] { sinusoidal_positional_encoding<float>(4, 0); },
                           {"sinusoidal_positional_encoding", "length = 4", "dim = 0"});
}

TEST(PositionalMisuse, SinusoidalWithNonPositiveBase) {
  expect_error<ValueError>([] { sinusoidal_positional_encoding<double>(4, 2, -1.0); }, {"base", "-1"});
}

TEST(PositionalMisuse, RotaryWithAnOddHeadDim) {
  expect_error<ShapeError>(
      [] {
        apply_rotary_embedding(Tensor32::ones({2, 3, 4, 5}));
      },
      {"apply_rotary_embedding", "D even", "(2, 3, 4, 5)"});
}

TEST(PositionalMisuse, RotaryOfAVector) {
  expect_error<ShapeError>([] { apply_rotary_embedding(Tensor64::ones({6})); }, {"apply_rotary_embedding", "(6)"});
}

TEST(PositionalMisuse, RotaryWithANegativeOffsetOrBadBase) {
  expect_error<ValueError>([] { apply_rotary_embedding(Tensor64::ones({2, 4}), -3); }, {"offset", "-3"});
  expect_error<ValueError>([] { apply_rotary_embedding(Tensor64::ones({2, 4}), 0, 0.0); }, {"base", "0"});
}

TEST(PositionalMisuse, ShawScoreBiasHeadDimMismatch) {
  expect_error<ShapeError>(
      [] {
        shaw_score_bias(Tensor32::ones({1, 2, 3, 5}), Tensor32::ones({5, 4}), 3, 2);
      },
      {"shaw_score_bias", "(1, 2, 3, 5)", "(5, 4)"});
}

TEST(PositionalMisuse, ShawTableRowsDoNotMatchMaxDistance) {
  expect_error<ShapeError>(
      [] {
        shaw_value_term(Tensor64::ones({1, 1, 2, 3}), Tensor64::ones({4, 3}), 2);
      },
      {"shaw_value_term", "value_table", "(5, D)", "max_distance = 2", "(4, 3)"});
  expect_error<ValueError>(
      [] {
        shaw_score_bias(Tensor64::ones({1, 1, 2, 3}), Tensor64::ones({1, 3}), 2, -1);
      },
      {"max_distance", "-1"});
}

TEST(PositionalMisuse, T5BucketsTooFewOrDistanceTooShort) {
  expect_error<ValueError>([] { t5_relative_bucket(3, true, 2, 128); }, {"t5_relative_bucket", "num_buckets = 2", "4"});
  // 32 bidirectional buckets have 8 exact ones: max_distance must exceed 8.
  expect_error<ValueError>([] { t5_relative_bucket(3, true, 32, 8); }, {"max_distance = 8", "8 exact"});
}

TEST(PositionalMisuse, T5BiasTableOfTheWrongRank) {
  expect_error<ShapeError>(
      [] {
        t5_relative_bias(Tensor32::ones({32, 4, 1}), 3, 3, true, 128);
      },
      {"t5_relative_bias", "(num_buckets, H)", "(32, 4, 1)"});
  expect_error<ValueError>([] { t5_relative_bias(Tensor32::ones({32, 4}), -1, 3, true, 128); }, {"-1"});
}

}  // namespace
}  // namespace attend
