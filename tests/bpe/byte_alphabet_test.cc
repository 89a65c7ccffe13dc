// GPT-2's byte alphabet: the spellings Hugging Face and llama.cpp store vocabularies in.
#include "attend/bpe/byte_alphabet.h"

#include <gtest/gtest.h>

#include <set>

namespace attend::bpe {
namespace {

TEST(BpeByteAlphabet, SpellsBytesAsGpt2Does) {
  EXPECT_EQ(byte_to_code_point(' '), U'\u0120');   // Ġ
  EXPECT_EQ(byte_to_code_point('\n'), U'\u010A');  // Ċ
  EXPECT_EQ(byte_to_code_point(0x00), U'\u0100');
  EXPECT_EQ(byte_to_code_point(0x7F), U'\u0121');  // after the 33 bytes 0x00..0x20
  EXPECT_EQ(byte_to_code_point(0xA0), U'\u0142');
  EXPECT_EQ(byte_to_code_point(0xAD), U'\u0143');  // the soft hyphen, the last one borrowed
  EXPECT_EQ(byte_to_code_point('a'), U'a');
  EXPECT_EQ(byte_to_code_point(0xE9), U'\u00E9');
  EXPECT_EQ(byte_to_code_point(0xFF), U'\u00FF');
  EXPECT_EQ(spell_bytes("a b\n"), "a\u0120b\u010A");
}

TEST(BpeByteAlphabet, EveryByteHasItsOwnSpellingAndComesBack) {
  std::set<char32_t> spellings;
  for (int byte = 0; byte < 256; ++byte) {
    spellings.insert(byte_to_code_point(static_cast<uint8_t>(byte)));
    EXPECT_EQ(code_point_to_byte(byte_to_code_point(static_cast<uint8_t>(byte))), byte);
    const std::string one(1, static_cast<char>(byte));
    EXPECT_EQ(unspell_bytes(spell_bytes(one)), one);
  }
  EXPECT_EQ(spellings.size(), 256u);
  EXPECT_EQ(*spellings.rbegin(), U'\u0143');
}

TEST(BpeByteAlphabet, CodePointsOutsideTheAlphabetAreNotBytes) {
  EXPECT_EQ(code_point_to_byte(U' '), std::nullopt);  // spelled Ġ
  EXPECT_EQ(code_point_to_byte(U'\u0144'), std::nullopt);
  EXPECT_EQ(code_point_to_byte(U'\u20AC'), std::nullopt);
  EXPECT_EQ(unspell_bytes("<|im_start|>"), "<|im_start|>");
  EXPECT_EQ(unspell_bytes("a b"), std::nullopt);
  EXPECT_EQ(unspell_bytes("\u20AC"), std::nullopt);
  EXPECT_EQ(unspell_bytes("\xC4"), std::nullopt);  // not UTF-8
}

}  // namespace
}  // namespace attend::bpe
