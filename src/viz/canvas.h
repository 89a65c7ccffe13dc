// A cairo drawing surface that ends as the bytes of a PNG or an SVG file, with the few text
// helpers every figure needs. Internal to viz/: cairo stays out of the public headers.
#pragma once

#include <cairo.h>

#include <string>

#include "attend/viz/image_format.h"

namespace attend::viz {

enum class Align { kStart, kCenter, kEnd };

class Canvas {
 public:
  // A white page of width x height units. A PNG has `pixel_scale` pixels per unit.
  Canvas(ImageFormat format, double width, double height, double pixel_scale = 2.0);
  ~Canvas();
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;

  cairo_t* context() const { return context_; }
  // Finishes the drawing; the bytes of the file. Throws ValueError if cairo reports an error.
  // cairo's SVG draws text as glyph outlines; `title` and `description` go into the SVG as
  // <title> and <desc> elements, so that screen readers, search and tests find the words.
  std::string finish(const std::string& title = "", const std::string& description = "");

 private:
  ImageFormat format_;
  std::string svg_bytes_;
  cairo_surface_t* surface_ = nullptr;
  cairo_t* context_ = nullptr;
};

// A context on a 1x1 surface for measuring text before the canvas size is known.
class TextMeasure {
 public:
  TextMeasure();
  ~TextMeasure();
  TextMeasure(const TextMeasure&) = delete;
  TextMeasure& operator=(const TextMeasure&) = delete;
  double width(const std::string& text, double size, bool bold = false) const;

 private:
  cairo_surface_t* surface_;
  cairo_t* context_;
};

void set_font(cairo_t* cr, double size, bool bold = false);
// Draws `text` anchored at (x, y): horizontal and vertical alignment of its box, rotated by
// `angle` radians around the anchor (-pi/2: reads bottom to top).
void draw_text(cairo_t* cr, double x, double y, const std::string& text, double size, Align horizontal, Align vertical,
               double angle = 0, bool bold = false);
void set_color(cairo_t* cr, double r, double g, double b);

}  // namespace attend::viz
