// `attend viz CHECKPOINT --input WORD --out DIR`: every picture of a model's attention on one
// input (heatmaps as PNG and SVG, the JSON document, the HTML explorer), and `attend plot
// RUN_DIR`: the training curves of a run.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace attend::tools {

// Adds the `viz` and `plot` commands to `app`; the returned function runs whichever was parsed
// and returns the exit status (-1 when neither was).
std::function<int()> add_viz_commands(CLI::App& app);

}  // namespace attend::tools
