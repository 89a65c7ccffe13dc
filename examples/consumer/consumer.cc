// The smallest real use of the installed library: scaled dot-product attention on a causal
// problem, checked against the softmax worked by hand, and a multi-head attention module whose
// incremental (cached) decoding matches a full recompute. Prints "consumer ok" and the version.
#include <cmath>
#include <cstdio>

#include "attend/attend.h"
#include "attend/core/version.h"

int main() {
  using attend::Tensor;
  // One head, two queries and two keys of width 1: q = [1, 2], k = [1, 1], v = [10, 20].
  const Tensor<float> q = Tensor<float>::from_vector({1, 1, 2, 1}, {1, 2});  // (B, H, N, D)
  const Tensor<float> k = Tensor<float>::from_vector({1, 1, 2, 1}, {1, 1});  // (B, H, M, D)
  const Tensor<float> v = Tensor<float>::from_vector({1, 1, 2, 1}, {10, 20});
  attend::AttentionOptions<float> options;
  options.causal = true;
  const Tensor<float> out = attend::scaled_dot_product_attention(q, k, v, options).output;  // (1, 1, 2, 1)
  // Query 0 sees key 0 only: 10. Query 1 sees both with equal scores (2 * 1): (10 + 20) / 2.
  if (std::abs(out.to_vector()[0] - 10) > 1e-5 || std::abs(out.to_vector()[1] - 15) > 1e-5) {
    std::printf("scaled_dot_product_attention gave %g %g, expected 10 15\n", out.to_vector()[0], out.to_vector()[1]);
    return 1;
  }

  attend::Generator generator(7);
  attend::nn::MultiHeadAttentionConfig config;
  config.embed_dim = 8;
  config.num_heads = 2;
  attend::nn::MultiHeadAttention<float> attention(config, generator);
  const Tensor<float> x = Tensor<float>::randn({1, 3, 8}, generator);  // (B, N, E)
  attend::NoGradGuard no_grad;
  attend::nn::MultiHeadAttentionOptions<float> causal;
  causal.causal = true;
  const Tensor<float> full = attention.self_attention(x, causal).output;  // (1, 3, 8)
  attend::nn::KeyValueCache<float> cache;
  attend::nn::MultiHeadAttentionOptions<float> step;
  step.cache = &cache;
  step.causal = true;
  float worst = 0;
  for (int64_t t = 0; t < 3; ++t) {
    const Tensor<float> token = x.slice(1, t, t + 1).contiguous();         // (1, 1, 8)
    const Tensor<float> y = attention.self_attention(token, step).output;  // (1, 1, 8)
    for (int64_t e = 0; e < 8; ++e) worst = std::max(worst, std::abs(y.to_vector()[e] - full.to_vector()[t * 8 + e]));
  }
  if (worst > 1e-5f) {
    std::printf("cached decoding differs from the full pass by %g\n", worst);
    return 1;
  }
  std::printf("consumer ok: attend %s\n", attend::version().c_str());
  return 0;
}
