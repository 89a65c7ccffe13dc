// The fused path reads K and V in place when they are views with contiguous rows (a KV cache's
// positions inside its buffer): the same bits as their contiguous copies, forward (causal and
// not, grouped-query, one query row or many, long enough for the decode kernel on the copy) and
// backward; with need_weights the views are copied first and the weights match too.
#include <gtest/gtest.h>

#include "attend/attention/scaled_dot_product.h"
#include "attend/core/autograd.h"
#include "attend/core/random.h"
#include "attend/ops/reduction.h"

namespace attend {
namespace {

TEST(StridedKeysAndValues, FusedPathReadsViewsInPlaceWithTheSameBits) {
  Generator g(3);
  for (const auto& [queries, keys] : std::vector<std::pair<int64_t, int64_t>>{{1, 37}, {5, 64}, {1, 1500}}) {
    for (bool causal : {false, true}) {
      SCOPED_TRACE(::testing::Message() << queries << " queries, " << keys << " keys, causal " << causal);
      const auto q = Tensor32::randn({2, 4, queries, 16}, g);
      const auto k_buffer = Tensor32::randn({2, 2, keys + 11, 16}, g),
                 v_buffer = Tensor32::randn({2, 2, keys + 11, 8}, g);
      const Tensor32 k = k_buffer.slice(2, 0, keys), v = v_buffer.slice(2, 0, keys);  // views, rows contiguous
      ASSERT_FALSE(k.is_contiguous());
      AttentionOptions<float> options;
      options.causal = causal;
      options.alignment = CausalAlignment::kBottomRight;
      options.implementation = AttentionImplementation::kFused;
      const auto in_place = scaled_dot_product_attention(q, k, v, options).output.to_vector();
      EXPECT_EQ(in_place, scaled_dot_product_attention(q, k.contiguous(), v.contiguous(), options).output.to_vector());
      options.need_weights = true;
      const auto with_weights = scaled_dot_product_attention(q, k, v, options);
      EXPECT_EQ(with_weights.weights.to_vector(),
                scaled_dot_product_attention(q, k.contiguous(), v.contiguous(), options).weights.to_vector());
    }
  }
}

TEST(StridedKeysAndValues, GradientsMatchThoseOfContiguousCopies) {
  Generator g(4);
  const auto q = Tensor32::randn({1, 2, 6, 8}, g);
  const auto k_buffer = Tensor32::randn({1, 2, 20, 8}, g), v_buffer = Tensor32::randn({1, 2, 20, 8}, g);
  const auto gradients = [&](bool view) {
    Tensor32 kb = k_buffer.clone(), vb = v_buffer.clone(), qq = q.clone();
    kb.set_requires_grad(true);
    vb.set_requires_grad(true);
    qq.set_requires_grad(true);
    Tensor32 k = kb.slice(2, 0, 12), v = vb.slice(2, 0, 12);
    if (!view) k = k.contiguous(), v = v.contiguous();
    AttentionOptions<float> options;
    options.causal = true;
    options.alignment = CausalAlignment::kBottomRight;
    options.implementation = AttentionImplementation::kFused;
    sum(scaled_dot_product_attention(qq, k, v, options).output).backward();
    return std::vector<std::vector<float>>{qq.grad().to_vector(), kb.grad().to_vector(), vb.grad().to_vector()};
  };
  EXPECT_EQ(gradients(true), gradients(false));
}

}  // namespace
}  // namespace attend
