// 16-bit floats as checkpoints store them, widened to float (exactly: both formats are subsets of
// IEEE binary32).
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

}  // namespace attend
