// The head detector on SmolLM2 (decoder/head_scores.h): captured attention rows are causal
// distributions and capturing changes nothing; on a repeated random sequence the in-context loss
// falls on the second copy, the top induction heads score high, and zeroing them raises the
// second copy's loss back up while the first copy's barely moves.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "attend/decoder/head_scores.h"

namespace attend::decoder {
namespace {

const LlamaModel* model() {
  static const LlamaModel* loaded =
      std::filesystem::exists(default_model_path())
          ? new LlamaModel(LlamaModel::load(default_model_path(), WeightPrecision::float32))
          : nullptr;
  return loaded;
}

#define REQUIRE_MODEL() \
  if (model() == nullptr) GTEST_SKIP() << "no SmolLM2 GGUF (run scripts/setup)"

TEST(HeadScores, CapturedAttentionIsCausalRowsAndChangesNothing) {
  REQUIRE_MODEL();
  const std::vector<int32_t> ids{1, 504, 3575, 282, 4649, 314, 1345};
  KvCache plain_cache = model()->new_cache();
  const std::vector<float> plain = model()->forward(ids, plain_cache, true).to_vector();
  ForwardHooks hooks;
  hooks.capture_attention = true;
  KvCache cache = model()->new_cache();
  EXPECT_EQ(model()->forward(ids, cache, true, hooks).to_vector(), plain);
  ASSERT_EQ(static_cast<int64_t>(hooks.attention.size()), model()->config().layers);
  const Tensor<float>& last = hooks.attention.back();  // (H, 7, 7)
  ASSERT_EQ(last.shape(), (Shape{model()->config().heads, 7, 7}));
  for (int64_t h = 0; h < last.shape()[0]; ++h) {
    for (int64_t i = 0; i < 7; ++i) {
      const float* row = last.data() + (h * 7 + i) * 7;
      EXPECT_NEAR(std::accumulate(row, row + i + 1, 0.0), 1.0, 1e-6);
      for (int64_t j = i + 1; j < 7; ++j) EXPECT_EQ(row[j], 0.0f);
    }
  }
  hooks = ForwardHooks{};
  hooks.ablated_heads = {{}, {model()->config().heads}};
  KvCache bad = model()->new_cache();
  EXPECT_THROW(model()->forward(ids, bad, true, hooks), ValueError);
}

TEST(HeadScores, InductionHeadsCarryTheInContextLoss) {
  REQUIRE_MODEL();
  const RepeatedSequence sequence = repeated_random_sequence(*model(), 50, 0, 1, 1000, 49152);
  ASSERT_EQ(sequence.tokens.size(), 101u);
  EXPECT_TRUE(std::equal(sequence.tokens.begin() + 1, sequence.tokens.begin() + 51, sequence.tokens.begin() + 51));
  const HeadScores scores = head_scores(*model(), sequence);
  const InContextLoss loss = in_context_loss(*model(), sequence);
  EXPECT_LT(loss.second_copy, loss.first_copy / 3) << loss.first_copy << " -> " << loss.second_copy;
  std::vector<int64_t> order(scores.induction.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int64_t a, int64_t b) { return scores.induction[a] > scores.induction[b]; });
  EXPECT_GT(scores.induction[order[0]], 0.5);
  std::vector<std::vector<int64_t>> top(30);
  for (int i = 0; i < 5; ++i) top[order[i] / 9].push_back(order[i] % 9);
  // Induction heads matter for the second copy only: zeroing them brings its loss back up
  // towards the first copy's, which (nothing to copy there) barely moves.
  const InContextLoss without_top = in_context_loss(*model(), sequence, top);
  EXPECT_GT(without_top.second_copy, 2 * loss.second_copy);
  EXPECT_LT(std::abs(without_top.first_copy - loss.first_copy), 0.1 * loss.first_copy);
  std::printf("loss first / second copy %.3f / %.3f; top-5 induction heads zeroed %.3f / %.3f\n", loss.first_copy,
              loss.second_copy, without_top.first_copy, without_top.second_copy);
}

}  // namespace
}  // namespace attend::decoder
