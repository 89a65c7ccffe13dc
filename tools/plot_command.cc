// `attend plot RUN_DIR`: a run's training curves (RUN_DIR/metrics.jsonl) as PNG and SVG.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "attend/viz/curves.h"
#include "commands.h"
#include "output_files.h"

namespace attend::tools {
namespace {

namespace fs = std::filesystem;

struct PlotArguments {
  std::string run_dir, out;
};

int run_plot(const PlotArguments& args) {
  const fs::path metrics = fs::path(args.run_dir) / "metrics.jsonl";
  const std::vector<viz::MetricSeries> series = viz::read_metrics(metrics.string());
  const std::string title =
      fmt::format("{} · training curves", fs::path(args.run_dir).lexically_normal().filename().string());
  write_all(args.out.empty() ? args.run_dir : args.out,
            {{"curves.png", viz::render_curves(title, series, viz::ImageFormat::kPng)},
             {"curves.svg", viz::render_curves(title, series, viz::ImageFormat::kSvg)}});
  return 0;
}

}  // namespace

CommandRunner add_plot_command(CLI::App& app) {
  auto plot_args = std::make_shared<PlotArguments>();
  CLI::App* plot = app.add_subcommand("plot", "draw a run's training curves (RUN_DIR/metrics.jsonl) as PNG and SVG");
  plot->add_option("run_dir", plot_args->run_dir, "directory with metrics.jsonl (attend train g2p --out)")->required();
  plot->add_option("--out", plot_args->out, "directory for curves.png and curves.svg (default: RUN_DIR)");
  return [plot, plot_args]() -> int { return plot->parsed() ? run_plot(*plot_args) : -1; };
}

}  // namespace attend::tools
