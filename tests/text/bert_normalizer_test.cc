#include "attend/text/bert_normalizer.h"

#include <gtest/gtest.h>

namespace attend::text {
namespace {

TEST(BertNormalizer, CleanTextDropsControlsAndMakesSpaces) {
  EXPECT_EQ(clean_text(std::u32string(U"a\0b", 3)), U"ab");
  EXPECT_EQ(clean_text(U"bad\ufffdchar"), U"badchar");
  EXPECT_EQ(clean_text(U"a\u0007b\u001bc\u007fd"), U"abcd");                    // Cc
  EXPECT_EQ(clean_text(U"zero\u200bwidth\u00adsoft\ufeff"), U"zerowidthsoft");  // Cf
  EXPECT_EQ(clean_text(U"a\ue000b"), U"ab");                                    // Co
  EXPECT_EQ(clean_text(U"a\tb\nc\rd"), U"a b c d");                             // kept, as spaces
  EXPECT_EQ(clean_text(U"a\u00a0b\u3000c\u2028d"), U"a b c d");                 // White_Space
  EXPECT_EQ(clean_text(U"a\u000bb\u0085c"), U"abc");  // White_Space but Cc: dropped, not spaced
}

TEST(BertNormalizer, ChineseCharactersBecomeWords) {
  EXPECT_EQ(pad_chinese_characters(U"ab\u4f60\u597dc"), U"ab \u4f60  \u597d c");
  EXPECT_EQ(pad_chinese_characters(U"\U00020000"), U" \U00020000 ");    // extension B
  EXPECT_EQ(pad_chinese_characters(U"\u3042\uac00"), U"\u3042\uac00");  // hiragana, Hangul: as they are
  EXPECT_TRUE(is_chinese_character(0xF900));
  EXPECT_FALSE(is_chinese_character(0x3000));
}

TEST(BertNormalizer, StripAccentsDropsNonspacingMarksAfterNfd) {
  EXPECT_EQ(strip_accents(U"Caf\u00e9 cre\u0300me"), U"Cafe creme");
  EXPECT_EQ(strip_accents(U"\u0130"), U"I");
  EXPECT_EQ(strip_accents(U"\u0627\u064e"), U"\u0627");        // Arabic fatha is Mn
  EXPECT_EQ(strip_accents(U"\u0915\u093e"), U"\u0915\u093e");  // a Devanagari vowel sign is Mc: kept
}

TEST(BertNormalizer, LowercaseMapsEachCodePoint) {
  EXPECT_EQ(lowercase(U"HeLLo \u0130 \u03a3\u03a3"), U"hello i\u0307 \u03c3\u03c3");
}

TEST(BertNormalizer, OptionsChooseTheSteps) {
  const std::u32string text = U"Caf\u00c9\u00a0\u4f60 \u0130";
  EXPECT_EQ(normalize_bert(text, {}), U"cafe  \u4f60  i");  // strip_accents follows lowercase
  BertNormalizerOptions keep_accents;
  keep_accents.strip_accents = false;
  EXPECT_EQ(normalize_bert(text, keep_accents), U"caf\u00e9  \u4f60  i\u0307");
  BertNormalizerOptions cased;
  cased.lowercase = false;
  EXPECT_EQ(normalize_bert(text, cased), U"Caf\u00c9  \u4f60  \u0130");
  cased.strip_accents = true;
  EXPECT_EQ(normalize_bert(text, cased), U"CafE  \u4f60  I");
  BertNormalizerOptions nothing{false, false, false, false};
  EXPECT_EQ(normalize_bert(text, nothing), text);
}

}  // namespace
}  // namespace attend::text
