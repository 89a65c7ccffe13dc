// parse_png_header: the signature and IHDR of a PNG file, and a refusal naming what it was given
// for anything else (random bytes, a text file, a truncated or impossible header).
#include <gtest/gtest.h>

#include <string>

#include "attend/core/error.h"
#include "attend/io/png_header.h"
#include "harness/expect_error.h"

namespace attend {
namespace {

std::string be32(uint32_t n) {
  return {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
}

// The first 33 bytes of a PNG of `width` x `height` (the CRC is not checked: zeros).
std::string png_start(uint32_t width, uint32_t height, char colour_type = 6) {
  return std::string("\x89PNG\r\n\x1a\n", 8) + be32(13) + "IHDR" + be32(width) + be32(height) + '\x08' + colour_type +
         std::string(3, '\0') + std::string(4, '\0');
}

TEST(PngHeader, ReadsTheSizeAndColourType) {
  const io::PngHeader header = io::parse_png_header(png_start(591, 2486, 2), "x");
  EXPECT_EQ(header.width, 591);
  EXPECT_EQ(header.height, 2486);
  EXPECT_EQ(header.bit_depth, 8);
  EXPECT_EQ(header.colour_type, 2);
}

TEST(PngHeader, RefusesWhatIsNotAPng) {
  expect_error<ValueError>([] { io::parse_png_header("GIF89a", "the image 'a.png'"); },
                           {"the image 'a.png' is not a PNG file (6 bytes, fewer than a PNG header's 33)"});
  expect_error<ValueError>([] { io::parse_png_header(std::string(100, '\x5a'), "the image 'b.png'"); },
                           {"the image 'b.png' is not a PNG file (it does not start with the PNG signature)"});
  std::string no_ihdr = png_start(1, 1);
  no_ihdr.replace(12, 4, "IDAT");
  expect_error<ValueError>([&] { io::parse_png_header(no_ihdr, "c"); }, {"its first chunk is not a 13-byte IHDR"});
  expect_error<ValueError>([] { io::parse_png_header(png_start(0, 5), "d"); }, {"declares 0 x 5 pixels"});
  expect_error<ValueError>([] { io::parse_png_header(png_start(1u << 31, 5), "e"); }, {"declares 2147483648 x 5"});
}

}  // namespace
}  // namespace attend
