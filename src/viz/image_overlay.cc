#include "attend/viz/image_overlay.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "attend/core/error.h"
#include "attend/io/png_header.h"
#include "attend/viz/colormap.h"
#include "attend/viz/output_file.h"
#include "canvas.h"
#include "colorbar.h"

namespace attend::viz {
namespace {

constexpr double kMargin = 12, kTitleSize = 14, kPanelTitleSize = 12, kGap = 12;
// Images read (4 bytes a pixel in cairo): 4096 x 4096, far beyond the 28 x 28 they are drawn over.
constexpr int64_t kMaxPixels = int64_t{1} << 24;

// An ARGB32 surface of w x h holding `pixel(x, y)` (premultiplied by its alpha).
template <typename Pixel>
cairo_surface_t* make_surface(int64_t w, int64_t h, Pixel pixel) {
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, static_cast<int>(w), static_cast<int>(h));
  cairo_surface_flush(surface);
  unsigned char* data = cairo_image_surface_get_data(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  for (int64_t y = 0; y < h; ++y) {
    auto* row = reinterpret_cast<uint32_t*>(data + y * stride);
    for (int64_t x = 0; x < w; ++x) row[x] = pixel(x, y);
  }
  cairo_surface_mark_dirty(surface);
  return surface;
}

uint32_t argb(double a, double r, double g, double b) {
  auto byte = [](double v) { return static_cast<uint32_t>(std::clamp(v, 0.0, 1.0) * 255.0 + 0.5); };
  return byte(a) << 24 | byte(r * a) << 16 | byte(g * a) << 8 | byte(b * a);
}

// Paints `surface` (w x h) into the rectangle (x, y, side_w, side_h) with the given filter.
void paint_scaled(cairo_t* cr, cairo_surface_t* surface, int64_t w, int64_t h, double x, double y, double width,
                  double height, cairo_filter_t filter) {
  cairo_save(cr);
  cairo_rectangle(cr, x, y, width, height);
  cairo_clip(cr);
  cairo_translate(cr, x, y);
  cairo_scale(cr, width / w, height / h);
  cairo_set_source_surface(cr, surface, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), filter);
  // PAD: the bilinear filter at the border repeats the edge instead of fading to transparent.
  cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
  cairo_paint(cr);
  cairo_restore(cr);
}

// A regular file whose PNG header declares a size cairo can decode into memory; ValueError naming
// the file otherwise. Not a FIFO, which would block cairo, nor a size cairo would fail to allocate.
void check_png_file(const std::string& path) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  ATTEND_CHECK(std::filesystem::exists(status), ValueError, "cannot read the image '{}': it does not exist", path);
  ATTEND_CHECK(std::filesystem::is_regular_file(status), ValueError, "cannot read the image '{}': not a regular file",
               path);
  std::ifstream in(path, std::ios::binary);
  std::string start(io::kPngHeaderBytes, '\0');
  in.read(start.data(), static_cast<std::streamsize>(start.size()));
  start.resize(static_cast<size_t>(in.gcount()));
  const io::PngHeader header = io::parse_png_header(start, fmt::format("the image '{}'", path));
  ATTEND_CHECK(header.width * header.height <= kMaxPixels, ValueError,
               "cannot read the image '{}': it is {} x {} pixels, more than the {} attend reads", path, header.height,
               header.width, kMaxPixels);
}

}  // namespace

std::string render_image_attention(const std::string& title, const GrayImage& image,
                                   const std::vector<ImageAttentionMap>& maps, ImageFormat format,
                                   const OverlayOptions& options) {
  ATTEND_CHECK(
      image.height > 0 && image.width > 0 && static_cast<int64_t>(image.pixels.size()) == image.height * image.width,
      ValueError, "image attention: {} pixels for a {} x {} image", image.pixels.size(), image.height, image.width);
  ATTEND_CHECK(!maps.empty(), ValueError, "image attention '{}': no maps", title);
  ATTEND_CHECK(options.scale >= 1 && options.scale <= 64 && options.alpha >= 0 && options.alpha <= 1, ValueError,
               "image attention: scale {} must be in [1, 64] and alpha {} in [0, 1]", options.scale, options.alpha);
  double max_value = 0;
  for (const auto& map : maps) {
    ATTEND_CHECK(map.grid_height > 0 && map.grid_width > 0 &&
                     static_cast<int64_t>(map.weights.size()) == map.grid_height * map.grid_width,
                 ValueError, "image attention map '{}': {} weights for a {} x {} grid", map.title, map.weights.size(),
                 map.grid_height, map.grid_width);
    for (float w : map.weights) max_value = std::max(max_value, static_cast<double>(w));
  }
  if (max_value <= 0) max_value = 1;
  const double side_w = static_cast<double>(image.width * options.scale);
  const double side_h = static_cast<double>(image.height * options.scale);
  const double panel_top = kMargin + kTitleSize * 2;
  const double image_top = panel_top + kPanelTitleSize * 1.6;
  const TextMeasure measure;
  const ColorbarLayout bar = layout_colorbar(measure, max_value, side_h);
  const double count = static_cast<double>(maps.size());
  const double width =
      std::max(count * side_w + (count - 1) * kGap + bar.width, measure.width(title, kTitleSize, true));
  Canvas canvas(format, kMargin * 2 + width, image_top + side_h + kMargin);
  cairo_t* cr = canvas.context();
  set_color(cr, 0.1, 0.1, 0.1);
  draw_text(cr, kMargin, kMargin, title, kTitleSize, Align::kStart, Align::kStart, 0, true);

  cairo_surface_t* gray = make_surface(image.width, image.height, [&](int64_t x, int64_t y) {
    const double v = image.pixels[y * image.width + x];
    return argb(1, v, v, v);
  });
  for (size_t k = 0; k < maps.size(); ++k) {
    const ImageAttentionMap& map = maps[k];
    const double x = kMargin + k * (side_w + kGap);
    set_color(cr, 0.1, 0.1, 0.1);
    draw_text(cr, x, panel_top, map.title, kPanelTitleSize, Align::kStart, Align::kStart);
    paint_scaled(cr, gray, image.width, image.height, x, image_top, side_w, side_h, CAIRO_FILTER_NEAREST);
    cairo_surface_t* heat = make_surface(map.grid_width, map.grid_height, [&](int64_t gx, int64_t gy) {
      const Rgb c = viridis(map.weights[gy * map.grid_width + gx] / max_value);
      return argb(options.alpha, c.r, c.g, c.b);
    });
    paint_scaled(cr, heat, map.grid_width, map.grid_height, x, image_top, side_w, side_h, CAIRO_FILTER_BILINEAR);
    cairo_surface_destroy(heat);
  }
  cairo_surface_destroy(gray);
  draw_colorbar(cr, kMargin + count * side_w + (count - 1) * kGap, image_top, bar, max_value);
  std::string description;
  for (const auto& map : maps) description += map.title + "; ";
  return canvas.finish(title, description);
}

void write_image_attention(const std::string& path, const std::string& title, const GrayImage& image,
                           const std::vector<ImageAttentionMap>& maps, const OverlayOptions& options) {
  write_output_file(path, render_image_attention(title, image, maps, image_format_of(path), options));
}

GrayImage read_gray_png(const std::string& path) {
  check_png_file(path);
  cairo_surface_t* surface = cairo_image_surface_create_from_png(path.c_str());
  const cairo_status_t status = cairo_surface_status(surface);
  if (status != CAIRO_STATUS_SUCCESS) {
    // cairo reports most of libpng's errors (a bad CRC, truncated data) as "out of memory".
    cairo_surface_destroy(surface);
    fail<ValueError>("cannot read the image '{}': the PNG file is damaged (cairo: {})", path,
                     cairo_status_to_string(status));
  }
  cairo_surface_flush(surface);
  GrayImage image;
  image.height = cairo_image_surface_get_height(surface);
  image.width = cairo_image_surface_get_width(surface);
  const cairo_format_t format = cairo_image_surface_get_format(surface);
  const unsigned char* data = cairo_image_surface_get_data(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  image.pixels.resize(static_cast<size_t>(image.height * image.width));
  for (int64_t y = 0; y < image.height; ++y) {
    for (int64_t x = 0; x < image.width; ++x) {
      float gray = 0;
      if (format == CAIRO_FORMAT_A8) {
        gray = data[y * stride + x] / 255.0f;
      } else {
        // ARGB32 / RGB24: one native-endian uint32 per pixel, colours premultiplied by alpha
        // (so already composited over black).
        uint32_t pixel = 0;
        std::memcpy(&pixel, data + y * stride + 4 * x, 4);
        gray = (0.299f * ((pixel >> 16) & 0xff) + 0.587f * ((pixel >> 8) & 0xff) + 0.114f * (pixel & 0xff)) / 255.0f;
      }
      image.pixels[y * image.width + x] = gray;
    }
  }
  cairo_surface_destroy(surface);
  return image;
}

}  // namespace attend::viz
