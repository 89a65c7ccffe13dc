// The vertical viridis colour bar beside a heatmap or an overlay, with five ticks from 0 to the
// largest value shown. Internal to viz/.
#pragma once

#include <cairo.h>

#include "canvas.h"

namespace attend::viz {

struct ColorbarLayout {
  double height = 0;  // of the bar, usually the matrix's
  double width = 0;   // gap + bar + tick labels
};

ColorbarLayout layout_colorbar(const TextMeasure& measure, double max_value, double height);
// The bar's top-left corner region starts at (x, y).
void draw_colorbar(cairo_t* cr, double x, double y, const ColorbarLayout& layout, double max_value);

}  // namespace attend::viz
