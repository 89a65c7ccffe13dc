// Lossy UTF-8 and cut-short sequences (bpe/utf8_repair.h).
#include "attend/bpe/utf8_repair.h"

#include <algorithm>
#include <cstdint>

#include "attend/core/utf8.h"
#include "attend/text/unicode.h"

namespace attend::bpe {
namespace {

// The length of the sequence `lead` starts (0 when it starts none), and the range of the byte
// after it (narrower than 80..BF after E0, ED, F0, F4: no overlong forms, surrogates or values
// above U+10FFFF).
struct LeadByte {
  size_t length = 0;
  uint8_t second_low = 0x80, second_high = 0xBF;
};

LeadByte read_lead(uint8_t lead) {
  if (lead >= 0xC2 && lead <= 0xDF) return {2};
  if (lead == 0xE0) return {3, 0xA0, 0xBF};
  if (lead == 0xED) return {3, 0x80, 0x9F};
  if (lead >= 0xE1 && lead <= 0xEF) return {3};
  if (lead == 0xF0) return {4, 0x90, 0xBF};
  if (lead == 0xF4) return {4, 0x80, 0x8F};
  if (lead >= 0xF1 && lead <= 0xF3) return {4};
  return {};
}

// Whether bytes[start..] (shorter than its lead says) could still become a well-formed sequence.
bool is_cut_short(std::string_view bytes, size_t start) {
  const LeadByte lead = read_lead(static_cast<uint8_t>(bytes[start]));
  const size_t have = bytes.size() - start;
  if (lead.length == 0 || have >= lead.length) return false;
  for (size_t k = 1; k < have; ++k) {
    const auto byte = static_cast<uint8_t>(bytes[start + k]);
    const uint8_t low = k == 1 ? lead.second_low : 0x80, high = k == 1 ? lead.second_high : 0xBF;
    if (byte < low || byte > high) return false;
  }
  return true;
}

}  // namespace

std::string replace_invalid_utf8(std::string_view bytes) {
  if (is_utf8(bytes)) return std::string(bytes);
  return text::encode_utf8(text::decode_utf8(bytes));
}

size_t incomplete_utf8_tail(std::string_view bytes) {
  for (size_t tail = 1; tail <= std::min<size_t>(3, bytes.size()); ++tail) {
    if (is_cut_short(bytes, bytes.size() - tail)) return tail;
  }
  return 0;
}

}  // namespace attend::bpe
