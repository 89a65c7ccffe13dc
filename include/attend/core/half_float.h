// 16-bit floats as checkpoints store them, widened to float (exactly: both formats are subsets of
// IEEE binary32), and float rounded to F16 (quantized blocks' scales).
//
//   F16  (IEEE binary16): sign s, 5 exponent bits e, 10 fraction bits f
//          e = 0:       (-1)^s * 2^-14 * (f / 2^10)          (zero and subnormals)
//          0 < e < 31:  (-1)^s * 2^(e - 15) * (1 + f / 2^10)
//          e = 31:      infinity (f = 0) or NaN (f != 0, the payload kept in the top fraction bits)
//   BF16 (bfloat16): the top 16 bits of a binary32, so widening appends 16 zero bits.
#pragma once

#include <bit>
#include <cstdint>

namespace attend {

constexpr float float_from_bf16_bits(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

constexpr float float_from_f16_bits(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1Fu;
  uint32_t fraction = bits & 0x3FFu;
  if (exponent == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (fraction << 13));  // inf, NaN
  if (exponent != 0) return std::bit_cast<float>(sign | ((exponent + 127 - 15) << 23) | (fraction << 13));
  if (fraction == 0) return std::bit_cast<float>(sign);  // +-0
  // A subnormal f * 2^-24: shift the fraction until its leading 1 is the implicit bit.
  int32_t binary_exponent = 127 - 15 + 1;
  while ((fraction & 0x400u) == 0) {
    fraction <<= 1;
    --binary_exponent;
  }
  return std::bit_cast<float>(sign | (static_cast<uint32_t>(binary_exponent) << 23) | ((fraction & 0x3FFu) << 13));
}

// The IEEE binary16 nearest to `value` (ties to even, as F16C's vcvtps2ph and numpy do): too
// large for 65504 rounds to infinity, below half the smallest subnormal to zero, NaN stays a
// quiet NaN with its top payload bits.
constexpr uint16_t f16_bits_from_float(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t magnitude = bits & 0x7FFFFFFFu;
  if (magnitude > 0x7F800000u) return static_cast<uint16_t>(sign | 0x7E00u | ((magnitude >> 13) & 0x3FFu));
  if (magnitude >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // >= 65520: infinity
  if (magnitude >= 0x38800000u) {  // a normal half: drop 13 fraction bits, rounding to even
    const uint32_t rounded = magnitude + 0xFFFu + ((magnitude >> 13) & 1u);
    return static_cast<uint16_t>(sign | ((rounded - (112u << 23)) >> 13));
  }
  if (magnitude < 0x33000000u) return sign;  // below 2^-25 (2^-25 itself ties to zero)
  // A subnormal k * 2^-24: k = m >> (126 - e) for m the 24-bit significand, e the biased exponent.
  const uint32_t exponent = magnitude >> 23, significand = (magnitude & 0x7FFFFFu) | 0x800000u;
  const uint32_t shift = 126 - exponent, half = 1u << (shift - 1);
  uint32_t k = significand >> shift;
  const uint32_t rest = significand & ((1u << shift) - 1);
  if (rest > half || (rest == half && (k & 1u))) ++k;  // k = 1024 is the smallest normal, rightly
  return static_cast<uint16_t>(sign | k);
}

}  // namespace attend
