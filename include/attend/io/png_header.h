// The first 33 bytes of a PNG file (W3C PNG, 3rd edition, sections 5.2 and 11.2.1): the
// signature, then the IHDR chunk with the image's size. Read before anything decodes the file,
// since a decoder allocates what the header declares: random bytes, or a header claiming
// 100,000 x 100,000 pixels, are refused by name instead of ending in "out of memory".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace attend::io {

inline constexpr size_t kPngHeaderBytes = 33;  // signature 8, IHDR length 4, type 4, data 13, CRC 4

struct PngHeader {
  int64_t width = 0, height = 0;  // 1 .. 2^31 - 1
  int bit_depth = 0;
  int colour_type = 0;  // 0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA
};

// The header at the start of `bytes`; ValueError "<what> is not a PNG file (<why>)" when there is
// none: too short, another signature, no IHDR chunk first, or a zero or too large size.
PngHeader parse_png_header(std::string_view bytes, const std::string& what);

}  // namespace attend::io
