#include "attend/viz/explorer.h"

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/viz/colormap.h"
#include "attend/viz/output_file.h"

namespace attend::viz {
namespace {

// src/viz/explorer.html, embedded by CMake (src/CMakeLists.txt) as kExplorerTemplate.
#include "explorer_template.inc"

// JSON inside <script> ends at the first "</": tokens such as "</s>" must read "<\/s>", which
// is the same string to a JSON parser.
std::string script_safe(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    out += json[i];
    if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') out += '\\';
  }
  return out;
}

// 64 viridis colours, so that the page and the PNGs share one colour map.
std::string palette_json() {
  std::string json = "[";
  for (int k = 0; k < 64; ++k) {
    const Rgb c = viridis((k + 0.5) / 64);
    auto byte = [](double v) { return static_cast<int>(v * 255 + 0.5); };
    json += fmt::format("{}\"#{:02x}{:02x}{:02x}\"", k ? "," : "", byte(c.r), byte(c.g), byte(c.b));
  }
  return json + "]";
}

void replace_marker(std::string& page, const std::string& marker, const std::string& text) {
  const size_t at = page.find(marker);
  ATTEND_CHECK(at != std::string::npos, ValueError, "explorer template lacks the marker {}", marker);
  page.replace(at, marker.size(), text);
}

}  // namespace

std::string render_explorer(const AttentionDocument& document) {
  ATTEND_CHECK(!document.attentions.empty(), ValueError, "explorer: the document of '{}' holds no attention maps",
               document.model);
  std::string page = kExplorerTemplate;
  replace_marker(page, "/*ATTEND_DATA*/", script_safe(to_json(document)));
  replace_marker(page, "/*ATTEND_PALETTE*/", palette_json());
  return page;
}

void write_explorer(const std::string& path, const AttentionDocument& document) {
  write_output_file(path, render_explorer(document));
}

}  // namespace attend::viz
