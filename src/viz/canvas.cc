#include "canvas.h"

#include <cairo-svg.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "attend/core/error.h"

namespace attend::viz {
namespace {

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

void check_status(cairo_status_t status, const char* what) {
  ATTEND_CHECK(status == CAIRO_STATUS_SUCCESS, ValueError, "drawing failed ({}): {}", what,
               cairo_status_to_string(status));
}

std::string xml_escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

ImageFormat image_format_of(const std::string& path) {
  std::string extension = path.size() >= 4 ? path.substr(path.size() - 4) : "";
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (extension == ".png") return ImageFormat::kPng;
  if (extension == ".svg") return ImageFormat::kSvg;
  fail<ValueError>("'{}': the file name must end in .png or .svg", path);
}

Canvas::Canvas(ImageFormat format, double width, double height, double pixel_scale) : format_(format) {
  ATTEND_CHECK(width >= 1 && height >= 1 && width * height * pixel_scale * pixel_scale < 1e8, ValueError,
               "Canvas: size {} x {} (x{}) is empty or too large", width, height, pixel_scale);
  if (format == ImageFormat::kPng) {
    surface_ = cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(std::ceil(width * pixel_scale)),
                                          static_cast<int>(std::ceil(height * pixel_scale)));
  } else {
    surface_ = cairo_svg_surface_create_for_stream(append_bytes, &svg_bytes_, width, height);
  }
  context_ = cairo_create(surface_);
  check_status(cairo_status(context_), "create");
  if (format == ImageFormat::kPng) cairo_scale(context_, pixel_scale, pixel_scale);
  cairo_set_source_rgb(context_, 1, 1, 1);
  cairo_paint(context_);
}

Canvas::~Canvas() {
  cairo_destroy(context_);
  cairo_surface_destroy(surface_);
}

std::string Canvas::finish(const std::string& title, const std::string& description) {
  check_status(cairo_status(context_), "draw");
  std::string bytes;
  if (format_ == ImageFormat::kPng) {
    cairo_surface_flush(surface_);
    check_status(cairo_surface_write_to_png_stream(surface_, append_bytes, &bytes), "write PNG");
  } else {
    cairo_surface_finish(surface_);
    check_status(cairo_surface_status(surface_), "write SVG");
    bytes = std::move(svg_bytes_);
    const size_t root = bytes.find("<svg");
    const size_t end = root == std::string::npos ? root : bytes.find('>', root);
    if (end != std::string::npos) {
      bytes.insert(end + 1,
                   "\n<title>" + xml_escaped(title) + "</title>\n<desc>" + xml_escaped(description) + "</desc>");
    }
  }
  return bytes;
}

TextMeasure::TextMeasure()
    : surface_(cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1)), context_(cairo_create(surface_)) {}

TextMeasure::~TextMeasure() {
  cairo_destroy(context_);
  cairo_surface_destroy(surface_);
}

double TextMeasure::width(const std::string& text, double size, bool bold) const {
  set_font(context_, size, bold);
  cairo_text_extents_t extents;
  cairo_text_extents(context_, text.c_str(), &extents);
  return extents.x_advance;
}

void set_font(cairo_t* cr, double size, bool bold) {
  // cairo's "toy" text API over fontconfig: DejaVu Sans from fonts-dejavu-core (scripts/setup).
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

void set_color(cairo_t* cr, double r, double g, double b) { cairo_set_source_rgb(cr, r, g, b); }

void draw_text(cairo_t* cr, double x, double y, const std::string& text, double size, Align horizontal, Align vertical,
               double angle, bool bold) {
  set_font(cr, size, bold);
  cairo_text_extents_t extents;
  cairo_text_extents(cr, text.c_str(), &extents);
  // Vertical placement by the font's size, not the glyphs' ink, so that labels line up.
  const double ascent = 0.75 * size, descent = 0.22 * size;
  const double dx = horizontal == Align::kStart    ? 0
                    : horizontal == Align::kCenter ? -extents.x_advance / 2
                                                   : -extents.x_advance;
  const double dy = vertical == Align::kStart ? ascent : vertical == Align::kCenter ? (ascent - descent) / 2 : -descent;
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, angle);
  cairo_move_to(cr, dx, dy);
  cairo_show_text(cr, text.c_str());
  cairo_restore(cr);
}

}  // namespace attend::viz
