#include "attend/viz/heatmap.h"

#include <algorithm>
#include <cmath>

#include "attend/core/error.h"
#include "attend/viz/colormap.h"
#include "attend/viz/output_file.h"
#include "canvas.h"
#include "colorbar.h"

namespace attend::viz {
namespace {

constexpr double kMargin = 12, kLabelSize = 11, kAxisSize = 11, kTitleSize = 14, kPanelTitleSize = 12;
constexpr double kLabelGap = 5, kAxisBand = 18;

void check(const Heatmap& h) {
  ATTEND_CHECK(h.rows > 0 && h.cols > 0 && static_cast<int64_t>(h.values.size()) == h.rows * h.cols, ValueError,
               "heatmap '{}': {} values for a {} x {} matrix", h.title, h.values.size(), h.rows, h.cols);
  ATTEND_CHECK(
      static_cast<int64_t>(h.row_labels.size()) == h.rows && static_cast<int64_t>(h.column_labels.size()) == h.cols,
      ValueError, "heatmap '{}': {} row and {} column labels for a {} x {} matrix", h.title, h.row_labels.size(),
      h.column_labels.size(), h.rows, h.cols);
}

// Where the parts of one matrix go, relative to the top-left corner of its panel.
struct PanelLayout {
  double cell = 0;  // side of one square cell
  double matrix_x = 0, matrix_y = 0;
  double width = 0, height = 0;   // of the panel, colour bar excluded
  bool vertical_columns = false;  // column labels read bottom to top when wider than a cell
};

PanelLayout layout_panel(const TextMeasure& measure, const Heatmap& h, double title_size) {
  PanelLayout p;
  p.cell = std::clamp(360.0 / static_cast<double>(std::max(h.rows, h.cols)), 12.0, 32.0);
  double row_label_width = 0, column_label_width = 0;
  for (const auto& label : h.row_labels) row_label_width = std::max(row_label_width, measure.width(label, kLabelSize));
  for (const auto& label : h.column_labels)
    column_label_width = std::max(column_label_width, measure.width(label, kLabelSize));
  p.vertical_columns = column_label_width > p.cell - 2;
  const double column_band = p.vertical_columns ? column_label_width + kLabelGap : kLabelSize + kLabelGap;
  p.matrix_x = kAxisBand + row_label_width + kLabelGap;
  p.matrix_y = title_size * 1.6 + kAxisBand + column_band;
  const double matrix_width = p.cell * h.cols;
  const double title_width = measure.width(h.title, title_size, true);
  p.width = std::max(p.matrix_x + matrix_width, title_width) + kLabelGap;
  p.height = p.matrix_y + p.cell * h.rows + kLabelGap;
  return p;
}

void draw_panel(cairo_t* cr, double x, double y, const Heatmap& h, const PanelLayout& p, double max_value,
                double title_size) {
  set_color(cr, 0.1, 0.1, 0.1);
  draw_text(cr, x, y, h.title, title_size, Align::kStart, Align::kStart, 0, true);
  const double mx = x + p.matrix_x, my = y + p.matrix_y;
  for (int64_t i = 0; i < h.rows; ++i) {
    for (int64_t j = 0; j < h.cols; ++j) {
      const Rgb c = viridis(h.values[i * h.cols + j] / max_value);
      set_color(cr, c.r, c.g, c.b);
      // A hair wider than the cell, so that no background shows between cells in the PNG.
      cairo_rectangle(cr, mx + j * p.cell, my + i * p.cell, p.cell + 0.3, p.cell + 0.3);
      cairo_fill(cr);
    }
  }
  set_color(cr, 0.1, 0.1, 0.1);
  for (int64_t i = 0; i < h.rows; ++i) {
    draw_text(cr, mx - kLabelGap, my + (i + 0.5) * p.cell, h.row_labels[i], kLabelSize, Align::kEnd, Align::kCenter);
  }
  for (int64_t j = 0; j < h.cols; ++j) {
    const double cx = mx + (j + 0.5) * p.cell;
    if (p.vertical_columns) {
      draw_text(cr, cx, my - kLabelGap, h.column_labels[j], kLabelSize, Align::kStart, Align::kCenter, -M_PI / 2);
    } else {
      draw_text(cr, cx, my - kLabelGap, h.column_labels[j], kLabelSize, Align::kCenter, Align::kEnd);
    }
  }
  set_color(cr, 0.35, 0.35, 0.35);
  const double column_band_top = y + title_size * 1.6;
  draw_text(cr, mx + p.cell * h.cols / 2, column_band_top, h.column_axis, kAxisSize, Align::kCenter, Align::kStart);
  draw_text(cr, x + kAxisSize * 0.2, my + p.cell * h.rows / 2, h.row_axis, kAxisSize, Align::kCenter, Align::kStart,
            -M_PI / 2);
}

// The words of a heatmap for the SVG's <desc>: its axes and their tokens.
std::string describe(const Heatmap& h) {
  std::string text = h.row_axis + ":";
  for (const auto& label : h.row_labels) text += " " + label;
  text += "; " + h.column_axis + ":";
  for (const auto& label : h.column_labels) text += " " + label;
  return text;
}

double largest(const std::vector<float>& values) {
  double top = 0;
  for (float v : values) top = std::max(top, static_cast<double>(v));
  return top > 0 ? top : 1.0;  // an all-zero map draws in the colour of 0
}

}  // namespace

std::string render_heatmap(const Heatmap& heatmap, ImageFormat format) {
  check(heatmap);
  const TextMeasure measure;
  const PanelLayout p = layout_panel(measure, heatmap, kTitleSize);
  const double max_value = largest(heatmap.values);
  const ColorbarLayout bar = layout_colorbar(measure, max_value, p.cell * heatmap.rows);
  const double matrix_right = p.matrix_x + p.cell * heatmap.cols;  // the bar goes right beside the matrix
  Canvas canvas(format, kMargin * 2 + std::max(p.width, matrix_right + bar.width), kMargin * 2 + p.height);
  draw_panel(canvas.context(), kMargin, kMargin, heatmap, p, max_value, kTitleSize);
  draw_colorbar(canvas.context(), kMargin + matrix_right, kMargin + p.matrix_y, bar, max_value);
  return canvas.finish(heatmap.title, describe(heatmap));
}

std::string render_heatmap_grid(const HeatmapGrid& grid, ImageFormat format) {
  ATTEND_CHECK(!grid.panels.empty(), ValueError, "heatmap grid '{}' has no panels", grid.title);
  const TextMeasure measure;
  double panel_width = 0, panel_height = 0, max_value = 0, matrix_height = 0, matrix_y = 0;
  std::vector<PanelLayout> layouts;
  for (const Heatmap& panel : grid.panels) {
    check(panel);
    layouts.push_back(layout_panel(measure, panel, kPanelTitleSize));
    panel_width = std::max(panel_width, layouts.back().width);
    panel_height = std::max(panel_height, layouts.back().height);
    matrix_y = std::max(matrix_y, layouts.back().matrix_y);
    matrix_height = std::max(matrix_height, layouts.back().cell * panel.rows);
    max_value = std::max(max_value, largest(panel.values));
  }
  const int64_t count = static_cast<int64_t>(grid.panels.size());
  const int64_t columns = grid.columns > 0 ? std::min(grid.columns, count)
                                           : static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(count))));
  const int64_t rows = (count + columns - 1) / columns;
  const double title_height = kTitleSize * 2;
  const double gap = 14;
  const ColorbarLayout bar = layout_colorbar(measure, max_value, matrix_height);
  Canvas canvas(format, kMargin * 2 + columns * panel_width + (columns - 1) * gap + bar.width,
                kMargin * 2 + title_height + rows * panel_height + (rows - 1) * gap);
  cairo_t* cr = canvas.context();
  set_color(cr, 0.1, 0.1, 0.1);
  draw_text(cr, kMargin, kMargin, grid.title, kTitleSize, Align::kStart, Align::kStart, 0, true);
  for (int64_t k = 0; k < count; ++k) {
    const double x = kMargin + (k % columns) * (panel_width + gap);
    const double y = kMargin + title_height + (k / columns) * (panel_height + gap);
    draw_panel(cr, x, y, grid.panels[k], layouts[k], max_value, kPanelTitleSize);
  }
  draw_colorbar(cr, kMargin + columns * panel_width + (columns - 1) * gap, kMargin + title_height + matrix_y, bar,
                max_value);
  std::string description;
  for (const Heatmap& panel : grid.panels) description += panel.title + ": " + describe(panel) + "\n";
  return canvas.finish(grid.title, description);
}

void write_heatmap(const std::string& path, const Heatmap& heatmap) {
  write_output_file(path, render_heatmap(heatmap, image_format_of(path)));
}

void write_heatmap_grid(const std::string& path, const HeatmapGrid& grid) {
  write_output_file(path, render_heatmap_grid(grid, image_format_of(path)));
}

}  // namespace attend::viz
