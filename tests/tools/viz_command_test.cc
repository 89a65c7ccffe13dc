// `attend viz` and `attend plot` through their command-line parsing, on a tiny G2P checkpoint:
// every file is there and shows something, and bad input leaves nothing behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "attend/core/error.h"
#include "attend/io/safetensors.h"
#include "attend/viz/attention_document.h"
#include "attend/models/g2p_factory.h"
#include "harness/expect_error.h"
#include "viz/png_check.h"
#include "viz/tiny_g2p.h"
#include "commands.h"
#include "viz_command.h"
#include "harness/temp_dir.h"

namespace attend::tools {
namespace {

namespace fs = std::filesystem;

int run(const std::string& command_line) {
  CLI::App app;
  const CommandRunner runners[] = {add_viz_command(app), add_plot_command(app)};
  app.parse(command_line, false);
  for (const CommandRunner& run_command : runners) {
    if (const int status = run_command(); status >= 0) return status;
  }
  return -1;
}

struct VizCommandTest : ::testing::Test {
  attend::testing::TempDir temp;
  fs::path dir = temp.path();
  std::string checkpoint = (dir / "model.safetensors").string();

  void SetUp() override {
    const models::G2PConfig config = viz::tiny_g2p_config(12);
    Generator g(1);
    const models::G2PTransformer<float> model(config, models::letter_vocabulary().size(),
                                              models::phoneme_vocabulary().size(), g);
    models::G2PModelSpec spec;
    spec.transformer = config;
    io::save_module(checkpoint, model, {}, models::g2p_metadata(spec));
  }
};

TEST_F(VizCommandTest, WritesEveryFigureTheDocumentAndTheExplorer) {
  const fs::path out = dir / "viz";
  ASSERT_EQ(run("viz " + checkpoint + " --input Hello --out " + out.string()), 0);
  // 2 + 2 + 2 attention maps, each with a grid of heads and a mean, as PNG and SVG; JSON; HTML.
  EXPECT_EQ(std::distance(fs::directory_iterator(out), {}), 6 * 4 + 2);
  for (const char* name : {"encoder.0.self", "decoder.1.self", "decoder.1.cross"}) {
    for (const char* figure : {".heads.png", ".mean.png"}) {
      const viz::PngSummary png = viz::summarize_png(viz::read_file(out / (std::string(name) + figure)));
      EXPECT_GT(png.width, 300) << name << figure;
      EXPECT_GT(png.height, 200) << name << figure;
      EXPECT_GT(png.distinct_colors, 30) << name << figure;
      EXPECT_GT(png.ink, 0.1) << name << figure;
    }
    EXPECT_NE(viz::read_file(out / (std::string(name) + ".heads.svg")).find("</svg>"), std::string::npos);
  }
  const viz::AttentionDocument doc = viz::parse_attention_json(viz::read_file(out / "attention.json"));
  EXPECT_EQ(doc.source_tokens, (std::vector<std::string>{"h", "e", "l", "l", "o", "</s>"}));
  EXPECT_EQ(doc.attentions.size(), 6u);
  EXPECT_NE(viz::read_file(out / "explorer.html").find("\"decoder.1.cross\""), std::string::npos);
}

TEST_F(VizCommandTest, BadInputSaysWhyAndLeavesNothingBehind) {
  const fs::path out = dir / "viz";
  expect_error<ValueError>([&] { run("viz " + checkpoint + " --input h3llo --out " + out.string()); },
                           {"h3llo", "'3'", "outside the vocabulary"});
  EXPECT_FALSE(fs::exists(out));
  expect_error<io::IoError>(
      [&] { run("viz " + (dir / "absent.safetensors").string() + " --input hello --out " + out.string()); },
      {"absent.safetensors", "cannot open"});
  // A file where the output directory should be: it cannot be made.
  expect_error<ValueError>([&] { run("viz " + checkpoint + " --input hello --out " + checkpoint + "/viz"); },
                           {"cannot be created"});
  // A checkpoint of another task.
  io::save_safetensors((dir / "other.safetensors").string(), {{"w", Tensor<float>::zeros({2})}}, {{"task", "tea"}});
  expect_error<ValueError>(
      [&] { run("viz " + (dir / "other.safetensors").string() + " --input x --out " + out.string()); },
      {"task 'tea'", "known: fashion-mnist, g2p"});
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(VizCommandTest, PlotsTheCurvesOfARun) {
  std::ofstream(dir / "metrics.jsonl") << "{\"step\": 10, \"loss\": 3.0, \"dev_per\": 0.5}\n"
                                          "{\"step\": 20, \"loss\": 2.0, \"dev_per\": 0.4}\n";
  ASSERT_EQ(run("plot " + dir.string()), 0);
  const viz::PngSummary png = viz::summarize_png(viz::read_file(dir / "curves.png"));
  EXPECT_EQ(png.width, 2 * (2 * 12 + 2 * 360 + 18));
  EXPECT_GT(png.distinct_colors, 20);
  EXPECT_TRUE(fs::exists(dir / "curves.svg"));
  expect_error<ValueError>([&] { run("plot " + (dir / "absent").string()); }, {"metrics.jsonl", "does not exist"});
  std::ofstream(dir / "metrics.jsonl", std::ios::app) << "{\"step\": 30, \"loss\": oops}\n";
  expect_error<ValueError>([&] { run("plot " + dir.string() + " --out " + (dir / "curves").string()); }, {"line 3"});
  EXPECT_FALSE(fs::exists(dir / "curves"));
}

}  // namespace
}  // namespace attend::tools
