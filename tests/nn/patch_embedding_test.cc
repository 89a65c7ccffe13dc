// image_patches and nn::PatchEmbedding: the op harness, a float64 loop of the strided
// convolution it equals, finite-difference gradients of every parameter, misuse.
#include <gtest/gtest.h>

#include "attend/nn/patch_embedding.h"
#include "harness/expect_error.h"
#include "harness/module_gradcheck.h"
#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

// The convolution with kernel = stride = p, in float64 loops, flattened to tokens:
//   out[b, r (W/p) + s, e] = bias[e] + sum_{c, i, j} weight[e, (c p + i) p + j] x[b, c, r p + i, s p + j]
Tensor64 patch_embedding_reference(const Tensor64& x, const Tensor64& weight, const Tensor64& bias, int64_t p) {
  const int64_t batch = x.size(0), channels = x.size(1), rows = x.size(2) / p, columns = x.size(3) / p;
  const int64_t embed = weight.size(0);
  Tensor64 out = Tensor64::zeros({batch, rows * columns, embed});
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t s = 0; s < columns; ++s) {
        for (int64_t e = 0; e < embed; ++e) {
          double total = bias.at({e});
          for (int64_t c = 0; c < channels; ++c) {
            for (int64_t i = 0; i < p; ++i) {
              for (int64_t j = 0; j < p; ++j)
                total += weight.at({e, (c * p + i) * p + j}) * x.at({b, c, r * p + i, s * p + j});
            }
          }
          out.data()[((b * rows + r) * columns + s) * embed + e] = total;
        }
      }
    }
  }
  return out;
}

TEST(PatchEmbedding, ImagePatchesThroughTheHarness) {
  EXPECT_OP_OK(make_case("image_patches (2,3,4,6) p=2", {InputSpec{{2, 3, 4, 6}}},
                         [](const auto& x) { return image_patches(x[0], 2); }));
  EXPECT_OP_OK(make_case("image_patches (1,1,3,3) p=3: one patch", {InputSpec{{1, 1, 3, 3}}},
                         [](const auto& x) { return image_patches(x[0], 3); }));
  EXPECT_OP_OK(make_case("image_patches (1,2,2,2) p=1: every pixel a token", {InputSpec{{1, 2, 2, 2}}},
                         [](const auto& x) { return image_patches(x[0], 1); }));
}

TEST(PatchEmbedding, ImagePatchesLayout) {
  // One 4x4 image 0..15 in 2x2 patches: patch 1 is the top-right block (2, 3, 6, 7).
  const auto x =
      Tensor64::from_vector({1, 1, 4, 4}, std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  const auto patches = image_patches(x, 2);
  EXPECT_EQ(patches.shape(), (Shape{1, 4, 4}));
  EXPECT_EQ(patches.to_vector(), (std::vector<double>{0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15}));
}

TEST(PatchEmbedding, MatchesTheStridedConvolutionInFloat64Loops) {
  Generator generator(3);
  for (int64_t p : {1, 2, 3}) {
    nn::PatchEmbedding<double> embedding({.in_channels = 2, .patch_size = p, .embed_dim = 5}, generator);
    const auto x = Tensor64::randn({2, 2, 6, 6}, generator);
    const auto got = embedding.forward(x);
    const int64_t tokens = (6 / p) * (6 / p);
    ASSERT_EQ(got.shape(), (Shape{2, tokens, 5})) << "p=" << p;
    const auto want = patch_embedding_reference(x, embedding.weight(), embedding.bias(), p).to_vector();
    const auto g = got.to_vector();
    for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], want[i], 1e-12) << "p=" << p << " element " << i;
    // Also equal to conv2d with the weight reshaped to (E, C, p, p), flattened to tokens.
    const auto conv = conv2d(x, embedding.weight().reshape({5, 2, p, p}), embedding.bias(), p)
                          .reshape({2, 5, tokens})
                          .transpose(1, 2)
                          .contiguous()
                          .to_vector();
    for (size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], conv[i], 1e-12) << "p=" << p << " element " << i;
  }
}

TEST(PatchEmbedding, ParametersAndGradientsByFiniteDifferences) {
  Generator generator(4);
  nn::PatchEmbedding<double> embedding({.in_channels = 3, .patch_size = 2, .embed_dim = 4}, generator);
  const auto named = embedding.named_parameters();
  ASSERT_EQ(named.size(), 2u);
  EXPECT_EQ(named[0].first, "projection.weight");
  EXPECT_EQ(named[0].second.shape(), (Shape{4, 12}));
  EXPECT_EQ(embedding.parameter_count(), 4 * 12 + 4);
  const auto x = Tensor64::randn({2, 3, 4, 2}, generator);
  const auto probe = Tensor64::randn({2, 2, 4}, generator);
  EXPECT_EQ(testing::check_parameter_gradients(embedding, [&] { return sum(mul(embedding.forward(x), probe)); }), "");
}

TEST(PatchEmbeddingMisuse, PatchThatDoesNotDivideTheImage) {
  expect_error<ShapeError>(
      [] {
        image_patches(Tensor32::ones({1, 1, 28, 28}), 5);
      },
      {"image_patches", "patch size 5", "(1, 1, 28, 28)"});
  expect_error<ShapeError>([] { image_patches(Tensor32::ones({28, 28}), 4); }, {"image_patches", "(28, 28)"});
  Generator generator(0);
  nn::PatchEmbedding<float> embedding({.in_channels = 1, .patch_size = 4, .embed_dim = 8}, generator);
  expect_error<ShapeError>(
      [&] {
        embedding.forward(Tensor32::ones({2, 3, 28, 28}));
      },
      {"PatchEmbedding", "(2, 3, 28, 28)", "C = 1"});
  expect_error<ValueError>(
      [&] { nn::PatchEmbedding<float>({.in_channels = 1, .patch_size = 0, .embed_dim = 8}, generator); },
      {"PatchEmbedding", "patch_size=0"});
}

}  // namespace
}  // namespace attend
