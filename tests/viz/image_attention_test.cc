#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include "attend/core/error.h"
#include "attend/viz/image_overlay.h"
#include "attend/viz/rollout.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"
#include "viz/png_check.h"

namespace attend::viz {
namespace {

// By hand, in float64:
//   A_1 = [[1, 0], [0.5, 0.5]]     Â_1 = 0.5 A_1 + 0.5 I = [[1, 0], [0.25, 0.75]]
//   A_2 = [[0.2, 0.8], [0.6, 0.4]]  Â_2 = [[0.6, 0.4], [0.3, 0.7]]
//   R = Â_2 Â_1 = [[0.6 + 0.1, 0.3], [0.3 + 0.175, 0.525]] = [[0.7, 0.3], [0.475, 0.525]]
//   mean of rows: [0.5875, 0.4125];  pooled with p = [0.2, 0.8]: [0.52, 0.48]
TEST(AttentionRollout, MatchesAHandComputedExample) {
  const std::vector<double> rollout = attention_rollout({{1, 0, 0.5, 0.5}, {0.2, 0.8, 0.6, 0.4}}, 2);
  const std::vector<double> expected = {0.7, 0.3, 0.475, 0.525};
  for (size_t k = 0; k < 4; ++k) EXPECT_NEAR(rollout[k], expected[k], 1e-15) << k;
  const std::vector<double> mean = pooled_rollout(rollout, 2);
  EXPECT_NEAR(mean[0], 0.5875, 1e-15);
  EXPECT_NEAR(mean[1], 0.4125, 1e-15);
  const std::vector<double> pooled = pooled_rollout(rollout, 2, {0.2, 0.8});
  EXPECT_NEAR(pooled[0], 0.2 * 0.7 + 0.8 * 0.475, 1e-15);
  EXPECT_NEAR(pooled[1], 0.2 * 0.3 + 0.8 * 0.525, 1e-15);
}

TEST(AttentionRollout, RowNormalizesAndAveragesHeadsOfDocumentMaps) {
  // A row of zeros (a fully masked query) still gives a distribution: Â = I on that row.
  const std::vector<double> r = attention_rollout({{0, 0, 0.5, 0.5}}, 2);
  EXPECT_DOUBLE_EQ(r[0], 1.0);
  EXPECT_DOUBLE_EQ(r[1], 0.0);
  // Two heads [[1, 0], [0, 1]] and [[0, 1], [1, 0]] average to uniform: Â = [[0.75, 0.25], [0.25, 0.75]].
  AttentionMap layer{"encoder.0.self", AttentionKind::kEncoderSelf, 0, 2, 2, 2, {1, 0, 0, 1, 0, 1, 1, 0}};
  const std::vector<double> one = attention_rollout(std::vector<const AttentionMap*>{&layer});
  EXPECT_DOUBLE_EQ(one[0], 0.75);
  EXPECT_DOUBLE_EQ(one[1], 0.25);
  AttentionMap cross{"decoder.0.cross", AttentionKind::kCross, 0, 1, 2, 3, {1, 0, 0, 0, 1, 0}};
  expect_error<ValueError>(
      [&] {
        attention_rollout(std::vector<const AttentionMap*>{&layer, &cross});
      },
      {"decoder.0.cross", "2 x 3"});
  expect_error<ValueError>([&] { attention_rollout({{1, 0, 0}}, 2); }, {"layer 0", "3 weights"});
}

GrayImage test_image() {
  // A bright diagonal bar on black, 28 x 28 like Fashion-MNIST.
  GrayImage image{28, 28, std::vector<float>(28 * 28, 0.0f)};
  for (int64_t y = 0; y < 28; ++y) {
    for (int64_t x = std::max<int64_t>(0, y - 3); x < std::min<int64_t>(28, y + 3); ++x)
      image.pixels[y * 28 + x] = 1.0f;
  }
  return image;
}

TEST(ImageOverlay, RolloutAndHeadsOverTheUpscaledImage) {
  std::vector<ImageAttentionMap> maps;
  for (int head = 0; head < 3; ++head) {
    ImageAttentionMap map{"head " + std::to_string(head), 7, 7, std::vector<float>(49, 0.01f)};
    map.weights[head * 8] = 0.5f;  // one hot cell on the diagonal per head
    maps.push_back(map);
  }
  const PngSummary png = summarize_png(render_image_attention("toy · layer 1", test_image(), maps, ImageFormat::kPng));
  // 3 panels of 28 * 8 = 224 units, gaps and a colour bar, at 2 pixels per unit.
  EXPECT_GT(png.width, 2 * 3 * 224);
  EXPECT_LT(png.width, 2 * (3 * 224 + 140));
  EXPECT_GT(png.height, 2 * 224);
  EXPECT_LT(png.height, 2 * (224 + 80));
  EXPECT_GT(png.distinct_colors, 200);  // grey image under blended viridis, bilinear
  EXPECT_GT(png.ink, 0.6);
  const std::string svg = render_image_attention("toy", test_image(), maps, ImageFormat::kSvg);
  EXPECT_NE(svg.find("head 2;"), std::string::npos);
  EXPECT_NE(svg.find("<image"), std::string::npos);  // the raster layers, embedded
}

TEST(ImageOverlay, RejectsMapsThatDoNotFillTheirGrid) {
  expect_error<ValueError>(
      [&] {
        render_image_attention("t", test_image(), {{"rollout", 7, 7, std::vector<float>(48)}}, ImageFormat::kPng);
      },
      {"rollout", "48 weights", "7 x 7"});
  expect_error<ValueError>([&] { render_image_attention("t", GrayImage{}, {}, ImageFormat::kPng); }, {"0 x 0"});
}

// What an --input FILE.png may be instead of a PNG: each is named, none is "out of memory" (what
// cairo said for all of them) and none is decoded into the gigabytes its header may claim.
TEST(ReadGrayPng, RefusesWhatIsNotADecodablePng) {
  const attend::testing::TempDir dir;
  const auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream((dir / name).string(), std::ios::binary) << bytes;
    return (dir / name).string();
  };
  const std::string random = write("random.png", std::string("\x3c\xf1\x07\x99") + std::string(4000, '\x5a'));
  expect_error<ValueError>([&] { read_gray_png(random); },
                           {"random.png' is not a PNG file (it does not start with the PNG signature)"});
  // A valid header claiming 100,000 x 100,000 pixels, then nothing.
  const std::string ihdr("\0\0\0\x0dIHDR\0\x01\x86\xa0\0\x01\x86\xa0\x08\0\0\0\0", 21);  // 100000 x 100000, 8-bit gray
  const std::string huge = write("huge.png", std::string("\x89PNG\r\n\x1a\n", 8) + ihdr + std::string(4, '\0'));
  expect_error<ValueError>([&] { read_gray_png(huge); },
                           {"huge.png': it is 100000 x 100000 pixels, more than the 16777216"});
  const std::string png =
      render_image_attention("t", test_image(), {{"map", 7, 7, std::vector<float>(49, 0.1f)}}, ImageFormat::kPng);
  const std::string truncated = write("truncated.png", png.substr(0, 60));
  expect_error<ValueError>([&] { read_gray_png(truncated); }, {"truncated.png': the PNG file is damaged (cairo:"});
  expect_error<ValueError>([&] { read_gray_png((dir / "absent.png").string()); }, {"absent.png': it does not exist"});
  expect_error<ValueError>([&] { read_gray_png(dir.path().string()); }, {"not a regular file"});
}

}  // namespace
}  // namespace attend::viz
