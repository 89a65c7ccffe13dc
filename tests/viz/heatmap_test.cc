#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "attend/core/error.h"
#include "attend/viz/colormap.h"
#include "attend/viz/heatmap.h"
#include "harness/expect_error.h"
#include "viz/png_check.h"
#include "harness/temp_dir.h"

namespace attend::viz {
namespace {

// A 4 x 5 alignment-like matrix with readable labels.
Heatmap diagonal() {
  Heatmap h;
  h.title = "toy · decoder.0.cross · head 0";
  h.rows = 4;
  h.cols = 5;
  for (int64_t i = 0; i < h.rows; ++i) {
    for (int64_t j = 0; j < h.cols; ++j) h.values.push_back(i == j ? 0.8f : 0.05f);
  }
  h.row_labels = {"HH", "AH", "L", "OW"};
  h.column_labels = {"h", "e", "l", "o", "</s>"};
  return h;
}

TEST(Colormap, ViridisEndsAndClamps) {
  EXPECT_NEAR(viridis(0).r, 0.267004, 1e-6);
  EXPECT_NEAR(viridis(1).g, 0.906157, 1e-6);
  EXPECT_NEAR(viridis(2).b, viridis(1).b, 0);
  EXPECT_NEAR(viridis(-1).b, viridis(0).b, 0);
  EXPECT_GT(viridis(0.5).g, viridis(0.25).g);  // brighter as the weight grows
}

TEST(Heatmap, PngHasTheExpectedSizeAndShowsTheMatrix) {
  const PngSummary png = summarize_png(render_heatmap(diagonal(), ImageFormat::kPng));
  // 2 pixels per unit; cells of 32 units, labels, title and colour bar around them.
  EXPECT_GT(png.width, 2 * 5 * 32);
  EXPECT_LT(png.width, 2 * 400);
  EXPECT_GT(png.height, 2 * 4 * 32);
  EXPECT_LT(png.height, 2 * 300);
  EXPECT_GT(png.distinct_colors, 50);  // viridis cells, the 64-band bar, anti-aliased text
  EXPECT_GT(png.ink, 0.3);
}

TEST(Heatmap, SvgHasTheLabelsAndTitle) {
  const std::string svg = render_heatmap(diagonal(), ImageFormat::kSvg);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  // cairo draws text as glyph outlines (<symbol id="glyph...">); the words are in <title>/<desc>.
  EXPECT_NE(svg.find("glyph"), std::string::npos);
  EXPECT_NE(svg.find("<title>toy · decoder.0.cross · head 0</title>"), std::string::npos);
  EXPECT_NE(svg.find("queries: HH AH L OW; keys: h e l o &lt;/s&gt;"), std::string::npos);
  EXPECT_GT(std::count(svg.begin(), svg.end(), '<'), 20 + 40);  // cells and glyphs are elements
}

TEST(Heatmap, GridOfHeadsAndAtomicWrites) {
  HeatmapGrid grid{"toy · decoder.0.cross · 4 heads", {diagonal(), diagonal(), diagonal(), diagonal()}, 0};
  for (size_t k = 0; k < grid.panels.size(); ++k) grid.panels[k].title = "head " + std::to_string(k);
  const attend::testing::TempDir temp;
  const auto& dir = temp.path();
  write_heatmap_grid((dir / "grid.png").string(), grid);
  write_heatmap_grid((dir / "grid.svg").string(), grid);
  const PngSummary png = summarize_png(read_file(dir / "grid.png"));
  const PngSummary single = summarize_png(render_heatmap(diagonal(), ImageFormat::kPng));
  EXPECT_GT(png.width, single.width * 3 / 2);  // 2 x 2 panels
  EXPECT_GT(png.height, single.height * 3 / 2);
  EXPECT_GT(png.distinct_colors, 50);
  EXPECT_NE(read_file(dir / "grid.svg").find("</svg>"), std::string::npos);
  // Nothing but the two files: no temporary left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 2);

  expect_error<ValueError>([&] { write_heatmap((dir / "map.jpg").string(), diagonal()); }, {"map.jpg", ".png or .svg"});
  expect_error<ValueError>([&] { write_heatmap((dir / "absent" / "map.png").string(), diagonal()); },
                           {"absent", "does not exist"});
  EXPECT_FALSE(std::filesystem::exists(dir / "map.jpg"));
}

TEST(Heatmap, RejectsMismatchedValuesAndLabels) {
  Heatmap h = diagonal();
  h.values.pop_back();
  expect_error<ValueError>([&] { render_heatmap(h, ImageFormat::kPng); }, {"19 values", "4 x 5"});
  h = diagonal();
  h.row_labels.pop_back();
  expect_error<ValueError>([&] { render_heatmap(h, ImageFormat::kPng); }, {"3 row and 5 column labels"});
}

TEST(Heatmap, FromAnAttentionDocument) {
  AttentionDocument doc;
  doc.model = "g2p";
  doc.source_tokens = {"h", "i", "</s>"};
  doc.target_tokens = {"<s>", "HH", "AY"};
  doc.predicted_tokens = {"HH", "AY", "</s>"};
  doc.attentions.push_back({"decoder.1.cross",
                            AttentionKind::kCross,
                            1,
                            2,
                            3,
                            3,
                            {1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5, 0.5, 0, 0, 0.5, 0.5, 0, 0, 1}});
  const Heatmap head = head_heatmap(doc, doc.attentions[0], 1);
  EXPECT_EQ(head.title, "g2p · decoder.1.cross · head 1");
  EXPECT_EQ(head.row_labels, doc.predicted_tokens);
  EXPECT_EQ(head.column_labels, doc.source_tokens);
  EXPECT_FLOAT_EQ(head.values[0], 0.5f);
  const Heatmap mean = mean_heatmap(doc, doc.attentions[0]);
  EXPECT_FLOAT_EQ(mean.values[0], 0.75f);
  EXPECT_EQ(head_grid(doc, doc.attentions[0]).panels.size(), 2u);
  expect_error<ValueError>([&] { head_heatmap(doc, doc.attentions[0], 2); }, {"decoder.1.cross", "0..1"});
}

}  // namespace
}  // namespace attend::viz
