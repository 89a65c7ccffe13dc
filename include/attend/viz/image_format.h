// The two file formats viz/ draws into: PNG (cairo's image surface, 2x for sharp text) and SVG
// (cairo's SVG surface: text and cells as vector shapes).
#pragma once

#include <string>

namespace attend::viz {

enum class ImageFormat { kPng, kSvg };

// By the extension of `path`, ".png" or ".svg" (any case); ValueError naming the path otherwise.
ImageFormat image_format_of(const std::string& path);

}  // namespace attend::viz
