// nn::Embedding and nn::embedding with padding_idx: initialization, lookups, the padding row's
// missing gradient, the harness on the weight, misuse.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "attend/nn/embedding.h"
#include "attend/nn/linear.h"
#include "harness/module_gradcheck.h"
#include "harness/op_harness.h"
#include "harness/expect_error.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

TEST(EmbeddingModule, ParametersAndStandardNormalInitialization) {
  Generator generator(1);
  nn::Embedding<double> embedding(200, 50, generator);
  const auto named = embedding.named_parameters();
  ASSERT_EQ(named.size(), 1u);
  EXPECT_EQ(named[0].first, "weight");
  EXPECT_EQ(named[0].second.shape(), (Shape{200, 50}));
  EXPECT_EQ(embedding.parameter_count(), 10000);
  EXPECT_FALSE(embedding.padding_idx().has_value());
  double total = 0, squares = 0;
  for (double v : embedding.weight().to_vector()) {
    total += v;
    squares += v * v;
  }
  const double mean = total / 10000, variance = squares / 10000 - mean * mean;
  EXPECT_NEAR(mean, 0.0, 0.04);  // standard error 0.01
  EXPECT_NEAR(variance, 1.0, 0.06);
}

TEST(EmbeddingModule, ForwardLooksUpRows) {
  Generator generator(2);
  nn::Embedding<float> embedding(7, 3, generator);
  const auto ids = IndexTensor::from_vector({2, 2}, {6, 0, 6, 2});
  const auto y = embedding.forward(ids);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  for (int64_t k = 0; k < 4; ++k) {
    for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(y.at({k / 2, k % 2, j}), embedding.weight().at({ids.data()[k], j}));
  }
}

TEST(EmbeddingModule, PaddingRowIsZeroAndGetsNoGradient) {
  Generator generator(3);
  nn::Embedding<double> embedding(5, 3, generator, /*padding_idx=*/1);
  EXPECT_EQ(embedding.padding_idx(), 1);
  EXPECT_EQ(embedding.weight().slice(0, 1, 2).to_vector(), (std::vector<double>{0, 0, 0}));
  const auto ids = IndexTensor::from_vector({5}, {1, 3, 1, 3, 0});
  const auto y = embedding.forward(ids);
  for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(y.at({0, j}), 0.0);
  const auto probe = Tensor64::from_vector({5, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  y.backward(probe);
  // Row 1 (padding): nothing. Row 3: probes 1 and 3 added. Row 0: probe 4. Rows 2 and 4: unused.
  EXPECT_EQ(embedding.weight().grad().to_vector(),
            (std::vector<double>{13, 14, 15, 0, 0, 0, 0, 0, 0, 14, 16, 18, 0, 0, 0}));
  // Negative padding_idx counts from the end.
  nn::Embedding<float> last(5, 2, generator, -1);
  EXPECT_EQ(last.padding_idx(), 4);
  EXPECT_EQ(last.weight().slice(0, 4, 5).to_vector(), (std::vector<float>{0, 0}));
  EXPECT_NE(last.weight().at({3, 0}), 0.0f);
}

TEST(EmbeddingModule, HarnessOnTheWeight) {
  // Repeated ids exercise the accumulation; padding_idx 6 is absent from the ids, so the finite
  // differences and the padding-aware backward must agree on every row.
  const auto ids = IndexTensor::from_vector({2, 3}, {4, 0, 4, 1, 5, 4});
  EXPECT_OP_OK(make_case("nn::embedding padding_idx 6", {InputSpec{{7, 5}}},
                         [ids](const auto& x) { return nn::embedding(x[0], ids, 6); }));
  EXPECT_OP_OK(make_case("nn::embedding no padding", {InputSpec{{7, 5}}},
                         [ids](const auto& x) { return nn::embedding(x[0], ids, std::nullopt); }));
  EXPECT_OP_OK(make_case("nn::embedding padding, no ids", {InputSpec{{3, 2}}},
                         [](const auto& x) { return nn::embedding(x[0], IndexTensor::zeros({0}), 0); }));
}

TEST(EmbeddingModule, GradientsByFiniteDifferences) {
  Generator generator(4);
  nn::Embedding<double> embedding(6, 4, generator);
  const auto ids = IndexTensor::from_vector({3, 2}, {5, 1, 1, 0, 3, 5});
  const auto probe = Tensor64::randn({3, 2, 4}, generator);
  EXPECT_EQ(testing::check_parameter_gradients(embedding, [&] { return sum(mul(embedding.forward(ids), probe)); }), "");
}

TEST(EmbeddingModuleMisuse, PaddingIdxOutOfRange) {
  Generator generator(0);
  expect_error<ValueError>([&] { nn::Embedding<float>(5, 3, generator, 5); },
                           {"Embedding", "padding_idx 5", "[-5, 5)"});
  expect_error<ValueError>([&] { nn::Embedding<float>(0, 3, generator); }, {"Embedding", "num_embeddings (0)"});
}

TEST(EmbeddingModuleMisuse, IndexOutOfRange) {
  Generator generator(0);
  nn::Embedding<float> embedding(5, 3, generator, 0);
  expect_error<ValueError>(
      [&] {
        embedding.forward(IndexTensor::from_vector({2}, {1, 9}));
      },
      {"embedding", "index 9", "[0, 5)"});
}

}  // namespace
}  // namespace attend

namespace attend {
namespace {

// Under SkipParameterInit, Linear and Embedding start at zero and leave the generator where it
// was; outside it they draw as before.
TEST(SkipParameterInit, LinearAndEmbeddingStartAtZeroWithoutDrawing) {
  Generator skipped(3), reference(3);
  {
    nn::SkipParameterInit skip;
    EXPECT_TRUE(nn::SkipParameterInit::active());
    const nn::Linear<float> linear(4, 3, true, skipped);
    const nn::Embedding<float> embedding(5, 2, skipped);
    for (const auto& [name, parameter] : linear.named_parameters()) {
      for (float v : parameter.to_vector()) EXPECT_EQ(v, 0.0f) << name;
    }
    for (float v : embedding.weight().to_vector()) EXPECT_EQ(v, 0.0f);
  }
  EXPECT_FALSE(nn::SkipParameterInit::active());
  EXPECT_EQ(skipped.next_u64(), reference.next_u64());
  const nn::Linear<float> drawn(4, 3, true, skipped);
  bool any_nonzero = false;
  for (float v : drawn.weight().to_vector()) any_nonzero |= v != 0.0f;
  EXPECT_TRUE(any_nonzero);
}

}  // namespace
}  // namespace attend
