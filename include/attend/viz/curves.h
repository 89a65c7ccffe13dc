// Training curves: every numeric field of a run's metrics.jsonl against its "step", one panel
// per field, drawn with cairo into PNG or SVG.
//
//   metrics.jsonl   one JSON object per line, e.g. (train g2p writes these)
//                   {"step": 2000, "loss": 1.23, "learning_rate": 0.0007, "dev_per": 0.12, ...}
#pragma once

#include <string>
#include <vector>

#include "attend/viz/image_format.h"

namespace attend::viz {

struct MetricSeries {
  std::string name;            // the JSON field
  std::vector<double> steps;   // x
  std::vector<double> values;  // y, one per step
};

// The series of every numeric field but "step", in order of first appearance. Throws ValueError
// when the file cannot be read, a line is not a JSON object or lacks a numeric "step" (naming
// the file and the line number), or no line holds a metric.
std::vector<MetricSeries> read_metrics(const std::string& path);

std::string render_curves(const std::string& title, const std::vector<MetricSeries>& series, ImageFormat format);
// Written atomically; the format by the extension.
void write_curves(const std::string& path, const std::string& title, const std::vector<MetricSeries>& series);

}  // namespace attend::viz
