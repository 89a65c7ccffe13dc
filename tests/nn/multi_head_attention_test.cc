#include <gtest/gtest.h>

#include <cmath>

#include "attend/nn/multi_head_attention.h"
#include "attention/attention_reference.h"
#include "harness/module_gradcheck.h"
#include "harness/op_harness.h"

namespace attend {
namespace {

using nn::AttentionPositional;
using nn::MultiHeadAttention;
using nn::MultiHeadAttentionConfig;
using nn::MultiHeadAttentionOptions;

// y (rows, out) = x (rows, in) W^T + b, by loops.
std::vector<double> linear_reference(const std::vector<double>& x, int64_t rows, const Tensor64& weight,
                                     const Tensor64& bias) {
  const int64_t out = weight.size(0), in = weight.size(1);
  std::vector<double> y(rows * out);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t o = 0; o < out; ++o) {
      double acc = bias.defined() ? bias.data()[o] : 0.0;
      for (int64_t i = 0; i < in; ++i) acc += x[r * in + i] * weight.data()[o * in + i];
      y[r * out + o] = acc;
    }
  }
  return y;
}

// (B, L, heads, dim) row-major -> (B, heads, L, dim)
std::vector<double> to_heads(const std::vector<double>& x, int64_t B, int64_t L, int64_t heads, int64_t dim) {
  std::vector<double> y(x.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t l = 0; l < L; ++l)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t d = 0; d < dim; ++d)
          y[((b * heads + h) * L + l) * dim + d] = x[((b * L + l) * heads + h) * dim + d];
  return y;
}

const Tensor64& parameter(const nn::Module<double>& m, const std::string& name) {
  static std::vector<Tensor64> keep;
  for (auto& [n, p] : m.named_parameters()) {
    if (n == name) {
      keep.push_back(p);
      return keep.back();
    }
  }
  throw std::runtime_error("no parameter " + name);
}

// The module in double against projections + loop attention + output projection, all by loops.
TEST(MultiHeadAttention, MatchesALoopReferenceForSelfAndCrossAttention) {
  struct Case {
    int64_t B, N, M, E, Ek, Ev, H, Hkv;
    bool causal;
    bool bias;
  };
  for (const Case& c : {Case{2, 5, 5, 8, 8, 8, 2, 2, true, true}, Case{1, 3, 7, 6, 4, 5, 3, 1, false, false},
                        Case{2, 4, 6, 12, 10, 3, 4, 2, false, true}, Case{1, 1, 1, 2, 2, 2, 1, 1, true, true}}) {
    Generator g(10);
    MultiHeadAttentionConfig config;
    config.embed_dim = c.E;
    config.num_heads = c.H;
    config.num_kv_heads = c.Hkv;
    config.key_dim = c.Ek;
    config.value_dim = c.Ev;
    config.bias = c.bias;
    MultiHeadAttention<double> mha(config, g);
    const int64_t D = c.E / c.H;
    const auto query = Tensor64::randn({c.B, c.N, c.E}, g);
    const auto key = Tensor64::randn({c.B, c.M, c.Ek}, g);
    const auto value = Tensor64::randn({c.B, c.M, c.Ev}, g);
    MultiHeadAttentionOptions<double> options;
    options.causal = c.causal;
    const auto got = mha.forward(query, key, value, options).output.to_vector();

    auto bias_of = [&](const char* name) { return c.bias ? parameter(mha, std::string(name) + ".bias") : Tensor64(); };
    const auto q =
        to_heads(linear_reference(query.to_vector(), c.B * c.N, parameter(mha, "query.weight"), bias_of("query")), c.B,
                 c.N, c.H, D);
    const auto k = to_heads(linear_reference(key.to_vector(), c.B * c.M, parameter(mha, "key.weight"), bias_of("key")),
                            c.B, c.M, c.Hkv, D);
    const auto v =
        to_heads(linear_reference(value.to_vector(), c.B * c.M, parameter(mha, "value.weight"), bias_of("value")), c.B,
                 c.M, c.Hkv, D);
    const int64_t offset = c.M - c.N;  // bottom-right causal
    const auto attention = testing::reference_attention<double>(
        q, k, v, c.B, c.H, c.Hkv, c.N, c.M, D, D, 1 / std::sqrt(double(D)), 0, {}, offset,
        [&](int64_t, int64_t, int64_t i, int64_t j) { return !c.causal || j <= i + offset; },
        [](int64_t, int64_t, int64_t, int64_t) { return 0.0; }, {}, 0);
    // (B, H, N, D) -> (B, N, H * D), then the output projection.
    std::vector<double> merged(c.B * c.N * c.H * D);
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t h = 0; h < c.H; ++h)
        for (int64_t n = 0; n < c.N; ++n)
          for (int64_t d = 0; d < D; ++d)
            merged[((b * c.N + n) * c.H + h) * D + d] = attention.output[((b * c.H + h) * c.N + n) * D + d];
    const auto expected = linear_reference(merged, c.B * c.N, parameter(mha, "output.weight"), bias_of("output"));
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-12);
  }
}

TEST(MultiHeadAttention, GradientsOfInputsAndParameters) {
  for (auto positional : {AttentionPositional::kNone, AttentionPositional::kRotary, AttentionPositional::kAlibi,
                          AttentionPositional::kT5Bias, AttentionPositional::kShaw}) {
    Generator g(5);
    MultiHeadAttentionConfig config;
    config.embed_dim = 8;
    config.num_heads = 2;
    config.num_kv_heads = 1;
    config.key_dim = 4;
    config.value_dim = 5;
    config.positional = positional;
    config.relative_buckets = 8;  // small tables, so that clipping and buckets matter
    config.relative_max_distance = 3;
    MultiHeadAttention<double> mha(config, g);
    const auto query = Tensor64::randn({2, 3, 8}, g);
    const auto key = Tensor64::randn({2, 4, 4}, g);
    const auto value = Tensor64::randn({2, 4, 5}, g);
    const auto weights = Tensor64::randn({2, 3, 8}, g);
    MultiHeadAttentionOptions<double> options;
    options.key_padding_mask = MaskTensor::from_vector({2, 4}, {0, 0, 1, 0, 1, 0, 0, 0});
    options.causal = true;
    auto loss = [&] { return sum(mul(mha.forward(query, key, value, options).output, weights)); };
    EXPECT_EQ(testing::check_parameter_gradients(mha, loss), "") << static_cast<int>(positional);
    // And the query, key and value inputs, through the harness's finite differences (float64).
    testing::OpCase inputs;
    inputs.name = "multi-head attention inputs, positional " + std::to_string(static_cast<int>(positional));
    inputs.inputs = {testing::InputSpec{{2, 3, 8}}, testing::InputSpec{{2, 4, 4}}, testing::InputSpec{{2, 4, 5}}};
    inputs.run_double = [&](const std::vector<Tensor64>& x) { return mha.forward(x[0], x[1], x[2], options).output; };
    inputs.gradient_tolerance = 1e-8;  // central differences agree to ~1e-9 here; the default 1e-6 is loose
    const auto result = testing::check_gradients(inputs, 1);
    EXPECT_TRUE(result.ok) << inputs.name << ":\n" << result.message;
  }
}

TEST(MultiHeadAttention, KeyValueCacheDecodingEqualsFullRecomputation) {
  for (auto positional : {AttentionPositional::kNone, AttentionPositional::kRotary, AttentionPositional::kAlibi,
                          AttentionPositional::kT5Bias, AttentionPositional::kShaw}) {
    Generator g(8);
    MultiHeadAttentionConfig config;
    config.embed_dim = 16;
    config.num_heads = 4;
    config.num_kv_heads = 2;
    config.positional = positional;
    MultiHeadAttention<float> mha(config, g);
    mha.eval();
    const int64_t T = 9;
    const auto x = Tensor32::randn({2, T, 16}, g);
    MultiHeadAttentionOptions<float> full;
    full.causal = true;
    const auto expected = mha.self_attention(x, full).output;
    // Prefill 4 tokens, then one token at a time.
    nn::KeyValueCache<float> cache;
    MultiHeadAttentionOptions<float> step;
    step.causal = true;
    step.cache = &cache;
    std::vector<Tensor32> pieces = {mha.self_attention(x.slice(1, 0, 4), step).output};
    for (int64_t t = 4; t < T; ++t) pieces.push_back(mha.self_attention(x.slice(1, t, t + 1), step).output);
    EXPECT_EQ(cache.length(), T);
    const auto incremental = concat(pieces, 1).to_vector();
    const auto reference = expected.to_vector();
    for (size_t i = 0; i < reference.size(); ++i)
      EXPECT_NEAR(incremental[i], reference[i], 1e-5) << static_cast<int>(positional);
  }
}

// The cache writes each token's keys and values in place: its buffer is reallocated only when it
// doubles (at 16 positions, then 32), keys and values are views of it, and decoding through it
// gives the same bits as through a cache rebuilt by concatenation (a contiguous copy of the same
// values) would: the fused kernel reads the view in place.
TEST(MultiHeadAttention, KeyValueCacheWritesInPlaceAndGrowsByDoubling) {
  Generator g(5);
  MultiHeadAttentionConfig config;
  config.embed_dim = 16;
  config.num_heads = 4;
  config.num_kv_heads = 2;
  config.positional = AttentionPositional::kRotary;
  MultiHeadAttention<float> mha(config, g);
  mha.eval();
  NoGradGuard no_grad;
  const auto x = Tensor32::randn({2, 40, 16}, g);
  nn::KeyValueCache<float> cache;
  MultiHeadAttentionOptions<float> step;
  step.causal = true;
  step.cache = &cache;
  int reallocations = 0;
  const float* storage = nullptr;
  for (int64_t t = 0; t < 40; ++t) {
    const Tensor32 token = x.slice(1, t, t + 1);
    // The same step against a contiguous copy of the cache (what concatenation used to build).
    nn::KeyValueCache<float> copy;
    if (cache.length() > 0) copy.append(cache.keys.contiguous(), cache.values.contiguous());
    MultiHeadAttentionOptions<float> copied = step;
    copied.cache = &copy;
    const auto expected = mha.self_attention(token, copied).output.to_vector();
    EXPECT_EQ(mha.self_attention(token, step).output.to_vector(), expected) << "token " << t;
    if (cache.key_storage.data() != storage) ++reallocations, storage = cache.key_storage.data();
    EXPECT_EQ(cache.keys.data(), cache.key_storage.data());
  }
  EXPECT_EQ(cache.length(), 40);
  EXPECT_EQ(cache.capacity(), 64);
  EXPECT_EQ(reallocations, 3);  // 16, 32, 64 positions
}

// A beam search replaces the cache's keys and values by index_select between steps: the next
// append starts the buffers again from them, without growing them at every step, and a
// sequence's outputs are those of the same sequence decoded on its own.
TEST(MultiHeadAttention, KeyValueCacheFollowsReplacedRows) {
  Generator g(6);
  MultiHeadAttentionConfig config;
  config.embed_dim = 8;
  config.num_heads = 2;
  MultiHeadAttention<float> mha(config, g);
  mha.eval();
  NoGradGuard no_grad;
  const auto x = Tensor32::randn({2, 30, 8}, g);
  nn::KeyValueCache<float> swapped, alone;
  MultiHeadAttentionOptions<float> step, single;
  step.causal = single.causal = true;
  step.cache = &swapped;
  single.cache = &alone;
  IndexTensor reverse = IndexTensor::from_vector({2}, {1, 0});
  Tensor32 rows = x;  // row 0 of `rows` is the sequence that `alone` decodes
  for (int64_t t = 0; t < 30; ++t) {
    const auto out = mha.self_attention(rows.slice(1, t, t + 1), step).output;  // (2, 1, 8)
    const auto expected = mha.self_attention(x.slice(0, 0, 1).slice(1, t, t + 1), single).output.to_vector();
    const int64_t row = t % 2;  // where sequence 0 is after t swaps
    const auto got = out.slice(0, row, row + 1).contiguous().to_vector();
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-6) << "step " << t;
    swapped.keys = index_select(swapped.keys, 0, reverse);  // the two rows trade places
    swapped.values = index_select(swapped.values, 0, reverse);
    rows = index_select(rows, 0, reverse);
  }
  EXPECT_EQ(swapped.length(), 30);
  EXPECT_LE(swapped.capacity(), 32);
}

TEST(MultiHeadAttention, NeedWeightsChangesNothingAndAveragesHeads) {
  Generator g(2);
  MultiHeadAttentionConfig config;
  config.embed_dim = 8;
  config.num_heads = 2;
  MultiHeadAttention<double> mha(config, g);
  const auto x = Tensor64::randn({1, 5, 8}, g);
  MultiHeadAttentionOptions<double> options;
  const auto plain = mha.self_attention(x, options).output.to_vector();
  options.need_weights = true;
  const auto averaged = mha.self_attention(x, options);
  options.average_weights = false;
  const auto per_head = mha.self_attention(x, options);
  EXPECT_EQ(averaged.output.to_vector(), plain);
  EXPECT_EQ(per_head.weights.shape(), (Shape{1, 2, 5, 5}));
  EXPECT_EQ(averaged.weights.shape(), (Shape{1, 5, 5}));
  for (int64_t i = 0; i < 5; ++i) {
    double row = 0;
    for (int64_t j = 0; j < 5; ++j) {
      EXPECT_NEAR(averaged.weights.at({0, i, j}),
                  (per_head.weights.at({0, 0, i, j}) + per_head.weights.at({0, 1, i, j})) / 2, 1e-15);
      row += averaged.weights.at({0, i, j});
    }
    EXPECT_NEAR(row, 1.0, 1e-12);
  }
}

TEST(MultiHeadAttention, DropoutOnlyInTrainingAndParameterCount) {
  Generator g(3);
  MultiHeadAttentionConfig config;
  config.embed_dim = 8;
  config.num_heads = 2;
  config.dropout = 0.5;
  MultiHeadAttention<float> mha(config, g);
  // 4 projections of 8x8 weights and 8 biases.
  EXPECT_EQ(mha.parameter_count(), 4 * (64 + 8));
  const auto x = Tensor32::randn({1, 6, 8}, g);
  mha.eval();
  const auto a = mha.self_attention(x).output.to_vector();
  EXPECT_EQ(a, mha.self_attention(x).output.to_vector());
  mha.train();
  EXPECT_NE(a, mha.self_attention(x).output.to_vector());
}

TEST(MultiHeadAttentionMisuse, ClearErrors) {
  Generator g(1);
  MultiHeadAttentionConfig bad;
  bad.embed_dim = 10;
  bad.num_heads = 3;
  EXPECT_THROW(MultiHeadAttention<float>(bad, g), ValueError);
  bad.num_heads = 2;
  bad.num_kv_heads = 3;
  EXPECT_THROW(MultiHeadAttention<float>(bad, g), ValueError);
  MultiHeadAttentionConfig config;
  config.embed_dim = 8;
  config.num_heads = 2;
  MultiHeadAttention<float> mha(config, g);
  try {
    mha.self_attention(Tensor32::ones({2, 3, 7}));
    ADD_FAILURE();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("(2, 3, 7)"), std::string::npos);
  }
  EXPECT_THROW(mha.forward(Tensor32::ones({2, 3, 8}), Tensor32::ones({1, 3, 8}), Tensor32::ones({1, 3, 8})),
               ShapeError);
  EXPECT_THROW(mha.forward(Tensor32::ones({2, 3, 8}), Tensor32::ones({2, 3, 8}), Tensor32::ones({2, 4, 8})),
               ShapeError);
  MultiHeadAttentionOptions<float> options;
  options.key_padding_mask = MaskTensor::zeros({2, 4});
  EXPECT_THROW(mha.self_attention(Tensor32::ones({2, 3, 8}), options), ShapeError);
}

}  // namespace
}  // namespace attend
