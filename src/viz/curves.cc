#include "attend/viz/curves.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/viz/output_file.h"
#include "canvas.h"

namespace attend::viz {
namespace {

constexpr double kMargin = 12, kTitleSize = 14, kPanelTitleSize = 12, kTickSize = 10;
constexpr double kPanelWidth = 360, kPanelHeight = 220, kGap = 18;
constexpr double kPlotLeft = 58, kPlotRight = 10, kPlotTop = 24, kPlotBottom = 30;  // inside a panel

// "Nice" axis ticks (Heckbert, "Nice numbers for graph labels", Graphics Gems 1990): steps of
// 1, 2 or 5 times a power of ten, about `count` of them, covering [low, high].
struct Ticks {
  double low, high, step;
};

Ticks nice_ticks(double low, double high, int count) {
  if (!(high > low)) {
    const double pad = low == 0 ? 1 : std::abs(low) * 0.1;
    low -= pad;
    high += pad;
  }
  const double raw = (high - low) / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / magnitude;
  const double step = (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude;
  return {std::floor(low / step) * step, std::ceil(high / step) * step, step};
}

// One notation for every tick of an axis: scientific when its steps are tiny or its values huge.
std::string tick_label(double value, const Ticks& ticks) {
  const double step = ticks.step;
  if (step < 1e-3 || std::max(std::abs(ticks.low), std::abs(ticks.high)) >= 1e5) return fmt::format("{:.1e}", value);
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  return fmt::format("{:.{}f}", value, decimals);
}

void draw_series(cairo_t* cr, double x0, double y0, const MetricSeries& s) {
  set_color(cr, 0.1, 0.1, 0.1);
  draw_text(cr, x0, y0, s.name, kPanelTitleSize, Align::kStart, Align::kStart, 0, true);
  const auto [min_step, max_step] = std::minmax_element(s.steps.begin(), s.steps.end());
  const auto [min_value, max_value] = std::minmax_element(s.values.begin(), s.values.end());
  const Ticks xt = nice_ticks(*min_step, *max_step, 5), yt = nice_ticks(*min_value, *max_value, 4);
  const double left = x0 + kPlotLeft, top = y0 + kPlotTop;
  const double width = kPanelWidth - kPlotLeft - kPlotRight, height = kPanelHeight - kPlotTop - kPlotBottom;
  auto px = [&](double x) { return left + (x - xt.low) / (xt.high - xt.low) * width; };
  auto py = [&](double y) { return top + height - (y - yt.low) / (yt.high - yt.low) * height; };
  // Grid and ticks.
  cairo_set_line_width(cr, 0.6);
  for (double y = yt.low; y <= yt.high + yt.step * 1e-6; y += yt.step) {
    set_color(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, left, py(y));
    cairo_line_to(cr, left + width, py(y));
    cairo_stroke(cr);
    set_color(cr, 0.3, 0.3, 0.3);
    draw_text(cr, left - 4, py(y), tick_label(y, yt), kTickSize, Align::kEnd, Align::kCenter);
  }
  for (double x = xt.low; x <= xt.high + xt.step * 1e-6; x += xt.step) {
    set_color(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, px(x), top);
    cairo_line_to(cr, px(x), top + height);
    cairo_stroke(cr);
    set_color(cr, 0.3, 0.3, 0.3);
    draw_text(cr, px(x), top + height + 4, tick_label(x, xt), kTickSize, Align::kCenter, Align::kStart);
  }
  set_color(cr, 0.3, 0.3, 0.3);
  draw_text(cr, left + width, top + height + 16, "step", kTickSize, Align::kEnd, Align::kStart);
  cairo_rectangle(cr, left, top, width, height);
  cairo_stroke(cr);
  // The curve, and its points when there are few.
  cairo_set_source_rgb(cr, 0.12, 0.47, 0.71);
  cairo_set_line_width(cr, 1.6);
  for (size_t k = 0; k < s.steps.size(); ++k) {
    if (k == 0)
      cairo_move_to(cr, px(s.steps[k]), py(s.values[k]));
    else
      cairo_line_to(cr, px(s.steps[k]), py(s.values[k]));
  }
  cairo_stroke(cr);
  if (s.steps.size() <= 60) {
    for (size_t k = 0; k < s.steps.size(); ++k) {
      cairo_arc(cr, px(s.steps[k]), py(s.values[k]), 2.4, 0, 2 * M_PI);
      cairo_fill(cr);
    }
  }
}

}  // namespace

std::string render_curves(const std::string& title, const std::vector<MetricSeries>& series, ImageFormat format) {
  ATTEND_CHECK(!series.empty(), ValueError, "curves '{}': no series to draw", title);
  for (const auto& s : series) {
    ATTEND_CHECK(!s.steps.empty() && s.steps.size() == s.values.size(), ValueError,
                 "curves: series '{}' has {} steps and {} values", s.name, s.steps.size(), s.values.size());
  }
  const int64_t count = static_cast<int64_t>(series.size());
  const int64_t columns = std::min<int64_t>(count, 2), rows = (count + columns - 1) / columns;
  const double title_height = kTitleSize * 2;
  Canvas canvas(format, kMargin * 2 + columns * kPanelWidth + (columns - 1) * kGap,
                kMargin * 2 + title_height + rows * kPanelHeight + (rows - 1) * kGap);
  cairo_t* cr = canvas.context();
  set_color(cr, 0.1, 0.1, 0.1);
  draw_text(cr, kMargin, kMargin, title, kTitleSize, Align::kStart, Align::kStart, 0, true);
  std::string description;
  for (int64_t k = 0; k < count; ++k) {
    draw_series(cr, kMargin + (k % columns) * (kPanelWidth + kGap),
                kMargin + title_height + (k / columns) * (kPanelHeight + kGap), series[k]);
    description += fmt::format("{}: {} points; ", series[k].name, series[k].steps.size());
  }
  return canvas.finish(title, description);
}

void write_curves(const std::string& path, const std::string& title, const std::vector<MetricSeries>& series) {
  write_output_file(path, render_curves(title, series, image_format_of(path)));
}

}  // namespace attend::viz
