#include "colorbar.h"

#include <algorithm>

#include <fmt/format.h>

#include "attend/viz/colormap.h"

namespace attend::viz {
namespace {

constexpr double kGap = 12, kBarWidth = 12, kTickLength = 3, kTickSize = 10;
constexpr int kTicks = 5;
constexpr int kBands = 64;  // a gradient as bands: identical in PNG and SVG

std::string tick_label(double value) { return fmt::format("{:.2f}", value); }

}  // namespace

ColorbarLayout layout_colorbar(const TextMeasure& measure, double max_value, double height) {
  double label_width = 0;
  for (int t = 0; t < kTicks; ++t) {
    label_width = std::max(label_width, measure.width(tick_label(max_value * t / (kTicks - 1)), kTickSize));
  }
  return {std::max(height, 40.0), kGap + kBarWidth + kTickLength + 3 + label_width};
}

void draw_colorbar(cairo_t* cr, double x, double y, const ColorbarLayout& layout, double max_value) {
  const double left = x + kGap;
  const double band = layout.height / kBands;
  for (int b = 0; b < kBands; ++b) {
    const Rgb c = viridis((b + 0.5) / kBands);
    set_color(cr, c.r, c.g, c.b);
    // Band 0 (value 0) at the bottom.
    cairo_rectangle(cr, left, y + layout.height - (b + 1) * band, kBarWidth, band + 0.3);
    cairo_fill(cr);
  }
  set_color(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 0.8);
  cairo_rectangle(cr, left, y, kBarWidth, layout.height);
  cairo_stroke(cr);
  for (int t = 0; t < kTicks; ++t) {
    const double ty = y + layout.height * (1.0 - static_cast<double>(t) / (kTicks - 1));
    cairo_move_to(cr, left + kBarWidth, ty);
    cairo_line_to(cr, left + kBarWidth + kTickLength, ty);
    cairo_stroke(cr);
    draw_text(cr, left + kBarWidth + kTickLength + 3, ty, tick_label(max_value * t / (kTicks - 1)), kTickSize,
              Align::kStart, Align::kCenter);
  }
}

}  // namespace attend::viz
