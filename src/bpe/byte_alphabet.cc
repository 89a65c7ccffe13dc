// GPT-2's byte-level alphabet (bpe/byte_alphabet.h).
#include "attend/bpe/byte_alphabet.h"

#include <array>

#include "attend/core/utf8.h"
#include "attend/text/unicode.h"

namespace attend::bpe {
namespace {

bool spelled_as_itself(uint8_t byte) {
  return (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
}

std::array<char32_t, 256> make_byte_spellings() {
  std::array<char32_t, 256> spellings{};
  char32_t next_borrowed = 0x100;
  for (int byte = 0; byte < 256; ++byte) {
    spellings[byte] = spelled_as_itself(static_cast<uint8_t>(byte)) ? char32_t(byte) : next_borrowed++;
  }
  return spellings;
}

const std::array<char32_t, 256>& byte_spellings() {
  static const std::array<char32_t, 256> spellings = make_byte_spellings();
  return spellings;
}

// The UTF-8 of each byte's spelling, for spell_bytes' inner loop.
const std::array<std::string, 256>& byte_spellings_utf8() {
  static const std::array<std::string, 256> utf8 = [] {
    std::array<std::string, 256> result;
    for (int byte = 0; byte < 256; ++byte) text::append_utf8(byte_spellings()[byte], result[byte]);
    return result;
  }();
  return utf8;
}

}  // namespace

char32_t byte_to_code_point(uint8_t byte) { return byte_spellings()[byte]; }

std::optional<uint8_t> code_point_to_byte(char32_t code_point) {
  if (code_point < 0x100 && spelled_as_itself(static_cast<uint8_t>(code_point))) {
    return static_cast<uint8_t>(code_point);
  }
  if (code_point < 0x100 || code_point >= 0x100 + 68) return std::nullopt;
  for (int byte = 0; byte < 256; ++byte) {
    if (byte_spellings()[byte] == code_point) return static_cast<uint8_t>(byte);
  }
  return std::nullopt;
}

std::string spell_bytes(std::string_view bytes) {
  std::string spelled;
  spelled.reserve(bytes.size() * 2);
  for (const char byte : bytes) spelled += byte_spellings_utf8()[static_cast<uint8_t>(byte)];
  return spelled;
}

std::optional<std::string> unspell_bytes(std::string_view spelled) {
  if (!is_utf8(spelled)) return std::nullopt;
  std::string bytes;
  for (const char32_t code_point : text::decode_utf8(spelled)) {
    const std::optional<uint8_t> byte = code_point_to_byte(code_point);
    if (!byte) return std::nullopt;
    bytes.push_back(static_cast<char>(*byte));
  }
  return bytes;
}

}  // namespace attend::bpe
