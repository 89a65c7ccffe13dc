#include "viz_command.h"

#include <filesystem>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/io/safetensors.h"
#include "attend/viz/curves.h"
#include "attend/viz/explorer.h"
#include "attend/viz/g2p_attention.h"
#include "attend/viz/heatmap.h"
#include "attend/viz/output_file.h"
#include "attend/models/g2p_factory.h"

namespace attend::tools {
namespace {

namespace fs = std::filesystem;

// Every file of one command, rendered in memory first: a bad input fails before anything is
// written, and a failed write removes what this run had written (and the directory it made).
using Files = std::vector<std::pair<std::string, std::string>>;  // (file name, bytes)

void write_all(const std::string& directory, const Files& files) {
  const bool existed = fs::exists(directory);
  viz::require_writable_directory(directory);
  std::vector<fs::path> written;
  try {
    for (const auto& [name, bytes] : files) {
      const fs::path path = fs::path(directory) / name;
      viz::write_output_file(path.string(), bytes);
      written.push_back(path);
    }
  } catch (...) {
    std::error_code ignored;
    for (const auto& path : written) fs::remove(path, ignored);
    if (!existed) fs::remove(directory, ignored);
    throw;
  }
  for (const auto& [name, bytes] : files) fmt::print("wrote {}\n", (fs::path(directory) / name).string());
}

// G2P: heads and mean of every attention map, the document and the explorer.
Files g2p_figures(const std::string& checkpoint, const std::string& word) {
  const auto model = models::load_g2p_model(checkpoint);
  const viz::AttentionDocument document = viz::capture_g2p_attention(*model, word);
  Files files;
  for (const viz::AttentionMap& map : document.attentions) {
    for (const auto& [extension, format] : {std::pair{"png", viz::ImageFormat::kPng}, {"svg", viz::ImageFormat::kSvg}}) {
      files.emplace_back(fmt::format("{}.heads.{}", map.name, extension),
                         viz::render_heatmap_grid(viz::head_grid(document, map), format));
      files.emplace_back(fmt::format("{}.mean.{}", map.name, extension),
                         viz::render_heatmap(viz::mean_heatmap(document, map), format));
    }
  }
  files.emplace_back("attention.json", viz::to_json(document));
  files.emplace_back("explorer.html", viz::render_explorer(document));
  return files;
}

// The figures of each kind of checkpoint, by the "task" in its metadata. An image task (the
// Fashion-MNIST classifiers) joins here with a function that reads --input as an image, captures
// the attention of one forward pass (attention/attention_capture.h) and draws the rollout and
// the heads over the image (viz/rollout.h, viz/image_overlay.h); see docs/visualization.md.
using FigureMaker = Files (*)(const std::string& checkpoint, const std::string& input);
const std::map<std::string, FigureMaker>& figure_makers() {
  static const std::map<std::string, FigureMaker> makers = {{"g2p", g2p_figures}};
  return makers;
}

struct VizArguments {
  std::string checkpoint, input, out;
};

int run_viz(const VizArguments& args) {
  viz::check_output_directory(args.out);  // before the model is loaded: fail fast, make nothing
  const io::Metadata metadata = io::load_safetensors(args.checkpoint).metadata();
  const std::string task = metadata.count("task") ? metadata.at("task") : "";
  const auto maker = figure_makers().find(task);
  if (maker == figure_makers().end()) {
    std::string known;
    for (const auto& [name, _] : figure_makers()) known += (known.empty() ? "" : ", ") + name;
    fail<ValueError>("'{}': attend viz does not know its task '{}' (known: {})", args.checkpoint, task, known);
  }
  write_all(args.out, maker->second(args.checkpoint, args.input));
  return 0;
}

struct PlotArguments {
  std::string run_dir, out;
};

int run_plot(const PlotArguments& args) {
  const fs::path metrics = fs::path(args.run_dir) / "metrics.jsonl";
  const std::vector<viz::MetricSeries> series = viz::read_metrics(metrics.string());
  const std::string title = fmt::format("{} · training curves", fs::path(args.run_dir).lexically_normal().filename().string());
  write_all(args.out.empty() ? args.run_dir : args.out,
            {{"curves.png", viz::render_curves(title, series, viz::ImageFormat::kPng)},
             {"curves.svg", viz::render_curves(title, series, viz::ImageFormat::kSvg)}});
  return 0;
}

}  // namespace

std::function<int()> add_viz_commands(CLI::App& app) {
  auto viz_args = std::make_shared<VizArguments>();
  CLI::App* viz = app.add_subcommand("viz", "draw a model's attention on one input: heatmaps, JSON and an HTML explorer");
  viz->add_option("checkpoint", viz_args->checkpoint, "model.safetensors (attend train g2p --out)")->required();
  viz->add_option("--input", viz_args->input, "the input: a word for G2P")->required();
  viz->add_option("--out", viz_args->out, "directory for the files (made if absent)")->required();

  auto plot_args = std::make_shared<PlotArguments>();
  CLI::App* plot = app.add_subcommand("plot", "draw a run's training curves (RUN_DIR/metrics.jsonl) as PNG and SVG");
  plot->add_option("run_dir", plot_args->run_dir, "directory with metrics.jsonl (attend train g2p --out)")->required();
  plot->add_option("--out", plot_args->out, "directory for curves.png and curves.svg (default: RUN_DIR)");
  return [viz, viz_args, plot, plot_args]() -> int {
    if (viz->parsed()) return run_viz(*viz_args);
    if (plot->parsed()) return run_plot(*plot_args);
    return -1;
  };
}

}  // namespace attend::tools
