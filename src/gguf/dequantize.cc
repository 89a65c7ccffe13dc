// Block formats to float32 (the layouts are drawn in attend/gguf/dequantize.h). Each function
// widens one block; the arithmetic is gguf-py's, operation for operation, and this file is
// compiled without floating-point contraction (src/CMakeLists.txt) so that d * q + m stays two
// roundings, as in numpy.
#include "attend/gguf/dequantize.h"

#include <cstring>

#include "attend/core/parallel.h"
#include "attend/core/half_float.h"

namespace attend::gguf {
namespace {

using Bytes = const uint8_t*;

float half(Bytes at) {
  uint16_t bits;
  std::memcpy(&bits, at, 2);
  return float_from_f16_bits(bits);
}

// Value p of a 32-value block of nibbles: byte p % 16, low half for p < 16, high half after.
uint8_t nibble32(Bytes nibbles, int p) { return (nibbles[p % 16] >> (4 * (p / 16))) & 0x0F; }

// x = d * q, q = int8
void q8_0(Bytes block, float* out) {
  const float d = half(block);
  for (int p = 0; p < 32; ++p) out[p] = static_cast<float>(static_cast<int8_t>(block[2 + p])) * d;
}

// x = d * (q - 8), q = a nibble
void q4_0(Bytes block, float* out) {
  const float d = half(block);
  for (int p = 0; p < 32; ++p) out[p] = d * static_cast<float>(static_cast<int>(nibble32(block + 2, p)) - 8);
}

// x = d * q + m, q = a nibble
void q4_1(Bytes block, float* out) {
  const float d = half(block), m = half(block + 2);
  for (int p = 0; p < 32; ++p) out[p] = d * static_cast<float>(nibble32(block + 4, p)) + m;
}

// A 5-bit value: the nibble, and bit p of the little-endian uint32 of high bits as bit 4.
int five_bits(Bytes high_bits, Bytes nibbles, int p) {
  uint32_t high;
  std::memcpy(&high, high_bits, 4);
  return nibble32(nibbles, p) | static_cast<int>(((high >> p) & 1u) << 4);
}

// x = d * (q - 16)
void q5_0(Bytes block, float* out) {
  const float d = half(block);
  for (int p = 0; p < 32; ++p) out[p] = d * static_cast<float>(five_bits(block + 2, block + 6, p) - 16);
}

// x = d * q + m
void q5_1(Bytes block, float* out) {
  const float d = half(block), m = half(block + 2);
  for (int p = 0; p < 32; ++p) out[p] = d * static_cast<float>(five_bits(block + 4, block + 8, p)) + m;
}

// The 6-bit scale and min of sub-block j of a Q4_K/Q5_K block from its 12 packed bytes:
//   j < 4:  scale = s[j] & 63,                          min = s[j + 4] & 63
//   j >= 4: scale = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4, min = (s[j + 4] >> 4) | (s[j] >> 6) << 4
void scale_and_min(Bytes s, int j, uint8_t& scale, uint8_t& min) {
  if (j < 4) {
    scale = s[j] & 63;
    min = s[j + 4] & 63;
  } else {
    scale = (s[j + 4] & 0x0F) | ((s[j - 4] >> 2) & 0x30);
    min = (s[j + 4] >> 4) | ((s[j] >> 2) & 0x30);
  }
}

// Value p of 256 in 128 bytes of nibbles: 4 groups of 32 bytes, each giving sub-block 2g (low
// halves) and 2g + 1 (high halves).
uint8_t nibble256(Bytes nibbles, int p) {
  const int group = p / 64, upper = (p % 64) / 32;
  return (nibbles[group * 32 + p % 32] >> (4 * upper)) & 0x0F;
}

// x = (d * scale_j) * q - (dmin * min_j), j = p / 32; Q5_K adds bit p / 32 of byte p % 32 of
// its high bits as bit 4 of q.
void q45_k(Bytes block, float* out, bool five) {
  const float d = half(block), dmin = half(block + 2);
  Bytes scales = block + 4, high_bits = block + 16, nibbles = block + (five ? 48 : 16);
  for (int j = 0; j < 8; ++j) {
    uint8_t scale, min;
    scale_and_min(scales, j, scale, min);
    const float d_j = d * static_cast<float>(scale), m_j = dmin * static_cast<float>(min);
    for (int p = 32 * j; p < 32 * j + 32; ++p) {
      int q = nibble256(nibbles, p);
      if (five) q |= ((high_bits[p % 32] >> j) & 1) << 4;
      out[p] = d_j * static_cast<float>(q) - m_j;
    }
  }
}

// x = (d * scale_s) * (q - 32), s = p / 16, q = 4 low bits | 2 high bits << 4:
//   low bits:  128 bytes, 2 groups of 64 bytes, each giving 64 values from low then high halves
//   high bits: 64 bytes, 2 groups of 32 bytes, each giving 4 x 32 values from bits 0-1, 2-3, ...
void q6_k(Bytes block, float* out) {
  Bytes low = block, high = block + 128;
  const auto* scales = reinterpret_cast<const int8_t*>(block + 192);
  const float d = half(block + 208);
  for (int p = 0; p < 256; ++p) {
    const int group = p / 128, within = p % 128;
    const int low_bits = (low[group * 64 + within % 64] >> (4 * (within / 64))) & 0x0F;
    const int high_bits = (high[group * 32 + within % 32] >> (2 * (within / 32))) & 0x03;
    const float d_s = d * static_cast<float>(scales[p / 16]);
    out[p] = d_s * static_cast<float>((low_bits | (high_bits << 4)) - 32);
  }
}

void f16(Bytes block, float* out) { *out = half(block); }

void bf16(Bytes block, float* out) {
  uint16_t bits;
  std::memcpy(&bits, block, 2);
  *out = float_from_bf16_bits(bits);
}

void f32(Bytes block, float* out) { std::memcpy(out, block, 4); }

using BlockFunction = void (*)(Bytes, float*);

BlockFunction block_function(TensorType type) {
  switch (type) {
    case TensorType::kF32:
      return f32;
    case TensorType::kF16:
      return f16;
    case TensorType::kBF16:
      return bf16;
    case TensorType::kQ8_0:
      return q8_0;
    case TensorType::kQ4_0:
      return q4_0;
    case TensorType::kQ4_1:
      return q4_1;
    case TensorType::kQ5_0:
      return q5_0;
    case TensorType::kQ5_1:
      return q5_1;
    case TensorType::kQ4_K:
      return [](Bytes block, float* out) { q45_k(block, out, false); };
    case TensorType::kQ5_K:
      return [](Bytes block, float* out) { q45_k(block, out, true); };
    case TensorType::kQ6_K:
      return q6_k;
    default:
      fail<FormatError>("cannot convert GGUF tensor type {} to float32", tensor_type_name(type));
  }
}

}  // namespace

void dequantize(TensorType type, std::span<const std::byte> blocks, std::span<float> out) {
  const BlockFunction function = block_function(type);
  const BlockLayout layout = block_layout(type);
  const int64_t count = static_cast<int64_t>(blocks.size()) / layout.bytes;
  if (static_cast<int64_t>(blocks.size()) % layout.bytes != 0 ||
      static_cast<int64_t>(out.size()) != count * layout.elements) {
    fail("gguf::dequantize: {} bytes of {} ({} bytes a block of {}) cannot fill {} values", blocks.size(),
         tensor_type_name(type), layout.bytes, layout.elements, out.size());
  }
  const auto* first = reinterpret_cast<Bytes>(blocks.data());
  // Each block is converted on its own: the result does not depend on the thread count.
  parallel_for(count, 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) function(first + b * layout.bytes, out.data() + b * layout.elements);
  });
}

}  // namespace attend::gguf
