#include "attend/io/png_header.h"

#include "attend/core/error.h"

namespace attend::io {
namespace {

constexpr std::string_view kSignature("\x89PNG\r\n\x1a\n", 8);
constexpr int64_t kMaxSide = (int64_t{1} << 31) - 1;  // the format's limit

int64_t big_endian_u32(std::string_view bytes, size_t at) {
  int64_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[at + i]);
  return value;
}

}  // namespace

PngHeader parse_png_header(std::string_view bytes, const std::string& what) {
  ATTEND_CHECK(bytes.size() >= kPngHeaderBytes, ValueError,
               "{} is not a PNG file ({} bytes, fewer than a PNG header's {})", what, bytes.size(), kPngHeaderBytes);
  ATTEND_CHECK(bytes.substr(0, 8) == kSignature, ValueError,
               "{} is not a PNG file (it does not start with the PNG signature)", what);
  ATTEND_CHECK(big_endian_u32(bytes, 8) == 13 && bytes.substr(12, 4) == "IHDR", ValueError,
               "{} is not a PNG file (its first chunk is not a 13-byte IHDR)", what);
  PngHeader header;
  header.width = big_endian_u32(bytes, 16);
  header.height = big_endian_u32(bytes, 20);
  header.bit_depth = static_cast<uint8_t>(bytes[24]);
  header.colour_type = static_cast<uint8_t>(bytes[25]);
  ATTEND_CHECK(header.width >= 1 && header.height >= 1 && header.width <= kMaxSide && header.height <= kMaxSide,
               ValueError, "{} is not a PNG file (its header declares {} x {} pixels)", what, header.width,
               header.height);
  return header;
}

}  // namespace attend::io
