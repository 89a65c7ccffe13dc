// F16 and BF16 widening, against the compiler's own conversions (every one of the 65,536 bit
// patterns), and through load_safetensors on a file written byte by byte.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <string>

#include "attend/core/half_float.h"
#include "attend/io/safetensors.h"
#include "io/io_fixtures.h"

namespace attend {
namespace {

TEST(HalfFloat, F16MatchesTheCompilersConversionForEveryBitPattern) {
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    const float expected = static_cast<float>(std::bit_cast<_Float16>(static_cast<uint16_t>(bits)));
    const float actual = float_from_f16_bits(static_cast<uint16_t>(bits));
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(actual)) << std::hex << bits;
      EXPECT_EQ(std::signbit(actual), std::signbit(expected)) << std::hex << bits;
    } else {
      EXPECT_EQ(std::bit_cast<uint32_t>(actual), std::bit_cast<uint32_t>(expected)) << std::hex << bits;
    }
  }
}

// Rounding to F16 against the compiler's float -> _Float16 conversion (round to nearest even):
// every half value, every midpoint between neighbours (the ties), one float above and below
// each, the overflow edge, and a million random bit patterns.
TEST(HalfFloat, FloatToF16MatchesTheCompilersRounding) {
  const auto check = [](float value) {
    const auto expected = std::bit_cast<uint16_t>(static_cast<_Float16>(value));
    const uint16_t actual = f16_bits_from_float(value);
    if (std::isnan(value)) {
      EXPECT_EQ(actual & 0x7E00, 0x7E00) << value;
    } else {
      ASSERT_EQ(actual, expected) << std::hexfloat << value;
    }
  };
  for (uint32_t bits = 0; bits < 0x7C00; ++bits) {
    for (const uint32_t sign : {0u, 0x8000u}) {
      const float value = float_from_f16_bits(static_cast<uint16_t>(bits | sign));
      const float next = float_from_f16_bits(static_cast<uint16_t>((bits + 1) | sign));
      const float midpoint = static_cast<float>((static_cast<double>(value) + next) / 2);  // exact in float
      for (const float x : {value, midpoint, std::nextafter(midpoint, 0.0f), std::nextafter(midpoint, 2 * next)}) {
        check(x);
      }
    }
  }
  for (const float x : {65504.0f, 65519.0f, 65520.0f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN, 0.0f, -0.0f,
                        std::ldexp(1.0f, -25), std::ldexp(1.5f, -25), std::ldexp(1.0f, -26)}) {
    check(x);
  }
  uint64_t state = 12345;
  for (int i = 0; i < 1000000; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    check(std::bit_cast<float>(static_cast<uint32_t>(state >> 32)));
  }
}

TEST(HalfFloat, F16KnownValues) {
  EXPECT_EQ(float_from_f16_bits(0x3C00), 1.0f);
  EXPECT_EQ(float_from_f16_bits(0xC000), -2.0f);
  EXPECT_EQ(float_from_f16_bits(0x7BFF), 65504.0f);                  // largest finite
  EXPECT_EQ(float_from_f16_bits(0x0001), std::ldexp(1.0f, -24));     // smallest subnormal
  EXPECT_EQ(float_from_f16_bits(0x03FF), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_TRUE(std::signbit(float_from_f16_bits(0x8000)));
  EXPECT_EQ(float_from_f16_bits(0x7C00), INFINITY);
}

TEST(HalfFloat, BF16IsTheTopHalfOfAFloat) {
  for (const float value : {1.0f, -3.5f, 1e-30f, 3e38f, INFINITY}) {
    const auto top = static_cast<uint16_t>(std::bit_cast<uint32_t>(value) >> 16);
    EXPECT_EQ(float_from_bf16_bits(top), std::bit_cast<float>(static_cast<uint32_t>(top) << 16));
  }
  EXPECT_EQ(float_from_bf16_bits(0x3F80), 1.0f);
  EXPECT_TRUE(std::isnan(float_from_bf16_bits(0x7FC0)));
}

std::string le16(uint16_t n) { return std::string{static_cast<char>(n & 0xff), static_cast<char>(n >> 8)}; }

TEST(HalfFloat, SafetensorsLoadsF16AndBF16AsFloat) {
  io_fixtures::TempDir dir;
  const std::string header =
      R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[6,10]}})";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  bytes += header + le16(0x3C00) + le16(0xC000) + le16(0x0001) + le16(0x3F80) + le16(0xC0A0);
  const std::string path = dir.file("half.safetensors");
  io_fixtures::write_bytes(path, bytes);

  const io::SafetensorsFile file = io::load_safetensors(path);
  const Tensor<float> h = file.get<float>("h", {3});
  EXPECT_EQ(h.to_vector(), (std::vector<float>{1.0f, -2.0f, std::ldexp(1.0f, -24)}));
  const Tensor<float> b = file.get<float>("b", {1, 2});
  EXPECT_EQ(b.to_vector(), (std::vector<float>{1.0f, -5.0f}));
}

TEST(HalfFloat, SafetensorsChecksF16ByteCounts) {
  io_fixtures::TempDir dir;
  const std::string header = R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,12]}})";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  bytes += header + std::string(12, '\0');
  const std::string path = dir.file("bad.safetensors");
  io_fixtures::write_bytes(path, bytes);
  try {
    io::load_safetensors(path);
    FAIL() << "expected FormatError";
  } catch (const io::FormatError& error) {
    EXPECT_NE(std::string(error.what()).find("hold 12 bytes, but F16 of shape (3) needs 6 bytes"), std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace attend
