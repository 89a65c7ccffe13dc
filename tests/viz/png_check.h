// Reads back a file, and a PNG that viz/ drew, to check its size and that it shows something.
#pragma once

#include <cairo.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace attend::viz {

struct PngSummary {
  int width = 0, height = 0;
  int64_t distinct_colors = 0;  // distinct RGB values
  double ink = 0;               // fraction of pixels that are not white
};

inline PngSummary summarize_png(const std::string& bytes) {
  struct Reader {
    const std::string* bytes;
    size_t at = 0;
  } reader{&bytes};
  cairo_surface_t* surface = cairo_image_surface_create_from_png_stream(
      [](void* closure, unsigned char* data, unsigned int length) {
        auto* r = static_cast<Reader*>(closure);
        if (r->at + length > r->bytes->size()) return CAIRO_STATUS_READ_ERROR;
        r->bytes->copy(reinterpret_cast<char*>(data), length, r->at);
        r->at += length;
        return CAIRO_STATUS_SUCCESS;
      },
      &reader);
  PngSummary summary;
  if (cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS) {
    summary.width = cairo_image_surface_get_width(surface);
    summary.height = cairo_image_surface_get_height(surface);
    const unsigned char* data = cairo_image_surface_get_data(surface);
    const int stride = cairo_image_surface_get_stride(surface);
    std::set<uint32_t> colors;
    int64_t inked = 0;
    for (int y = 0; y < summary.height; ++y) {
      for (int x = 0; x < summary.width; ++x) {
        const uint32_t rgb = reinterpret_cast<const uint32_t*>(data + y * stride)[x] & 0xffffff;
        colors.insert(rgb);
        inked += rgb != 0xffffff;
      }
    }
    summary.distinct_colors = static_cast<int64_t>(colors.size());
    summary.ink = static_cast<double>(inked) / (static_cast<double>(summary.width) * summary.height);
  }
  cairo_surface_destroy(surface);
  return summary;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace attend::viz
