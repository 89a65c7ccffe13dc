// Attention weights as heatmaps, drawn with cairo into PNG or SVG:
//
//   +------------------------------------------+
//   |  g2p · decoder.2.cross · head 1          |   title
//   |        h  e  l  l  o </s>                |   key tokens
//   |  <s>  [cells coloured by weight]    |1.0 |   colour bar with ticks
//   |  HH   [                        ]    |0.5 |
//   |  ...                                |0   |
//   |             keys                         |
//   +------------------------------------------+
//
// A single matrix, a grid of all heads of one module (one colour scale for all), and the mean
// over heads. Colours are viridis from 0 to the largest weight shown.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attend/viz/attention_document.h"
#include "attend/viz/image_format.h"

namespace attend::viz {

struct Heatmap {
  std::string title;
  int64_t rows = 0, cols = 0;
  std::vector<float> values;               // (rows, cols) row-major
  std::vector<std::string> row_labels;     // rows (queries), shown on the left
  std::vector<std::string> column_labels;  // cols (keys), shown on top
  std::string row_axis = "queries", column_axis = "keys";
};

struct HeatmapGrid {
  std::string title;
  std::vector<Heatmap> panels;  // drawn left to right, top to bottom, each with its own title
  int64_t columns = 0;          // panels per row; 0: ceil(sqrt(panels))
};

// The bytes of the file; ValueError when values do not match rows x cols or labels their axes.
std::string render_heatmap(const Heatmap& heatmap, ImageFormat format);
std::string render_heatmap_grid(const HeatmapGrid& grid, ImageFormat format);
// Written atomically; the format by the extension (.png or .svg).
void write_heatmap(const std::string& path, const Heatmap& heatmap);
void write_heatmap_grid(const std::string& path, const HeatmapGrid& grid);

// From an attention document: one head, the mean over heads, and a grid of every head; titled
// "model · name · head h" and labelled with the document's tokens; the rows of a cross map show
// the predicted tokens when the document has them (row t is the step that predicted token t),
// which reads as an alignment.
Heatmap head_heatmap(const AttentionDocument& document, const AttentionMap& map, int64_t head);
Heatmap mean_heatmap(const AttentionDocument& document, const AttentionMap& map);
HeatmapGrid head_grid(const AttentionDocument& document, const AttentionMap& map);

}  // namespace attend::viz
