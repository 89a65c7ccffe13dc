#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "attend/core/error.h"
#include "attend/viz/curves.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"
#include "viz/png_check.h"

namespace attend::viz {
namespace {

std::filesystem::path write_metrics(const testing::TempDir& dir, const std::string& name, const std::string& text) {
  const auto path = dir / name;
  std::ofstream(path) << text;
  return path;
}

TEST(Curves, ReadsEveryNumericFieldAgainstStep) {
  const testing::TempDir temp;
  const auto path = write_metrics(temp, "attend_curves_test.jsonl",
                                  "{\"step\": 100, \"loss\": 2.5, \"learning_rate\": 1e-4, \"note\": \"warm\"}\n"
                                  "\n"
                                  "{\"step\": 200, \"loss\": 1.5, \"learning_rate\": 2e-4, \"dev_per\": 0.4}\n"
                                  "{\"step\": 300, \"loss\": 1.0, \"learning_rate\": 3e-4, \"dev_per\": 0.3}\n");
  const std::vector<MetricSeries> series = read_metrics(path.string());
  ASSERT_EQ(series.size(), 3u);  // "note" is not a number
  EXPECT_EQ(series[0].name, "loss");
  EXPECT_EQ(series[1].name, "learning_rate");
  EXPECT_EQ(series[2].name, "dev_per");
  EXPECT_EQ(series[0].steps, (std::vector<double>{100, 200, 300}));
  EXPECT_EQ(series[2].steps, (std::vector<double>{200, 300}));
  EXPECT_EQ(series[2].values, (std::vector<double>{0.4, 0.3}));

  const PngSummary png = summarize_png(render_curves("run", series, ImageFormat::kPng));
  EXPECT_EQ(png.width, 2 * (12 * 2 + 2 * 360 + 18));  // two panels a row, 2 pixels per unit
  EXPECT_EQ(png.height, 2 * (12 * 2 + 28 + 2 * 220 + 18));
  EXPECT_GT(png.distinct_colors, 20);
  EXPECT_GT(png.ink, 0.02);
  const std::string svg = render_curves("run", series, ImageFormat::kSvg);
  EXPECT_NE(svg.find("dev_per: 2 points"), std::string::npos);
}

TEST(Curves, MalformedOrMissingMetricsNameTheLine) {
  const testing::TempDir temp;
  expect_error<ValueError>([] { read_metrics("/nonexistent/metrics.jsonl"); },
                           {"/nonexistent/metrics.jsonl", "does not exist"});
  auto path = write_metrics(temp, "attend_curves_bad.jsonl", "{\"step\": 1, \"loss\": 2}\n{\"step\": 2, \"loss\": \n");
  expect_error<ValueError>([&] { read_metrics(path.string()); }, {"line 2", "not JSON"});
  // A number beyond double's range is the JSON library's out_of_range, not a parse error: still
  // this clear message, not the library's own escaping (found by fuzzing config.json).
  path = write_metrics(temp, "attend_curves_bad.jsonl", "{\"step\": 1, \"loss\": 1e400}\n");
  expect_error<ValueError>([&] { read_metrics(path.string()); }, {"line 1", "not JSON", "1e400"});
  path = write_metrics(temp, "attend_curves_bad.jsonl", "{\"step\": 1, \"loss\": 2}\n[1, 2]\n");
  expect_error<ValueError>([&] { read_metrics(path.string()); }, {"line 2", "not a JSON object"});
  path = write_metrics(temp, "attend_curves_bad.jsonl", "{\"loss\": 2}\n");
  expect_error<ValueError>([&] { read_metrics(path.string()); }, {"line 1", "no numeric \"step\""});
  path = write_metrics(temp, "attend_curves_bad.jsonl", "{\"step\": 1}\n");
  expect_error<ValueError>([&] { read_metrics(path.string()); }, {"holds no metrics"});
}

}  // namespace
}  // namespace attend::viz
