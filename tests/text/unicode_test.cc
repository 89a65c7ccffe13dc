#include "attend/text/unicode.h"

#include <gtest/gtest.h>

namespace attend::text {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

TEST(Utf8, DecodesWellFormedText) {
  EXPECT_EQ(decode_utf8("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), (std::u32string{U'a', 0xE9, 0x20AC, 0x1F600}));
  EXPECT_EQ(decode_utf8(""), U"");
  EXPECT_EQ(decode_utf8(std::string_view("a\0b", 3)), (std::u32string{U'a', 0, U'b'}));
}

// The expected strings are Python's bytes.decode("utf-8", "replace") of the same bytes.
TEST(Utf8, EachMaximalSubpartOfABadSequenceIsOneReplacement) {
  const char32_t r = kReplacement;
  EXPECT_EQ(decode_utf8("caf\x80"
                        "e"),
            (std::u32string{U'c', U'a', U'f', r, U'e'}));
  EXPECT_EQ(decode_utf8("\xc3 \xe2\x82 \xf0\x9f\x98"), (std::u32string{r, U' ', r, U' ', r}));  // cut short
  EXPECT_EQ(decode_utf8("a\xc0\xaf"
                        "b"),
            (std::u32string{U'a', r, r, U'b'}));  // overlong
  EXPECT_EQ(decode_utf8("\xe0\x80\xaf"), (std::u32string{r, r, r}));
  EXPECT_EQ(decode_utf8("\xed\xa0\x80"), (std::u32string{r, r, r}));         // a surrogate
  EXPECT_EQ(decode_utf8("\xf4\x90\x80\x80"), (std::u32string{r, r, r, r}));  // above U+10FFFF
  EXPECT_EQ(decode_utf8("\xf5\x80"), (std::u32string{r, r}));
  EXPECT_EQ(decode_utf8("\xe2\x82\xac\xe2\x82"), (std::u32string{0x20AC, r}));
}

TEST(Utf8, EncodesWhatItDecodes) {
  const std::string text = "na\xc3\xafve \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd";
  EXPECT_EQ(encode_utf8(decode_utf8(text)), text);
  std::string out;
  append_utf8(0x10FFFF, out);
  EXPECT_EQ(out, "\xf4\x8f\xbf\xbf");
}

TEST(UnicodeClasses, WhiteSpaceIsTheUnicodeProperty) {
  for (char32_t c : {U' ', U'\t', U'\n', U'\r', char32_t{0x0B}, char32_t{0x85}, char32_t{0xA0}, char32_t{0x2002},
                     char32_t{0x2028}, char32_t{0x3000}}) {
    EXPECT_TRUE(is_white_space(c)) << std::hex << static_cast<uint32_t>(c);
  }
  for (char32_t c : {U'a', char32_t{0x200B}, char32_t{0x1F}, char32_t{0x180E}, char32_t{0xFEFF}}) {
    EXPECT_FALSE(is_white_space(c)) << std::hex << static_cast<uint32_t>(c);
  }
}

TEST(UnicodeClasses, ControlFormatAndPrivateUseAsOfUnicode8) {
  for (char32_t c : {char32_t{0x07}, char32_t{0x7F}, char32_t{0x85}, char32_t{0xAD}, char32_t{0x200B}, char32_t{0xFEFF},
                     char32_t{0xE000}, char32_t{0x10FFFD}}) {
    EXPECT_TRUE(is_control_format_or_private_use(c)) << std::hex << static_cast<uint32_t>(c);
  }
  // U+08E2 ARABIC DISPUTED END OF AYAH is Cf since Unicode 9.0; U+0378 is unassigned.
  for (char32_t c : {U'a', U' ', char32_t{0x08E2}, char32_t{0x0378}, char32_t{0xFFFF}}) {
    EXPECT_FALSE(is_control_format_or_private_use(c)) << std::hex << static_cast<uint32_t>(c);
  }
}

TEST(UnicodeClasses, PunctuationAsOfUnicode8) {
  for (char32_t c : {U'!', U'-', U'_', char32_t{0xAB}, char32_t{0x2014}, char32_t{0x3001}, char32_t{0x166D}}) {
    EXPECT_TRUE(is_punctuation(c)) << std::hex << static_cast<uint32_t>(c);  // U+166D: Po until So in 12.0
  }
  // $ is a currency symbol; U+2E43 and U+1E95E are punctuation assigned in Unicode 9.0.
  for (char32_t c : {U'$', U'a', char32_t{0xA9}, char32_t{0x2E43}, char32_t{0x1E95E}}) {
    EXPECT_FALSE(is_punctuation(c)) << std::hex << static_cast<uint32_t>(c);
  }
}

TEST(UnicodeClasses, NonspacingMarksAsOfUnicode8) {
  EXPECT_TRUE(is_nonspacing_mark(0x0301));
  EXPECT_TRUE(is_nonspacing_mark(0x05B8));   // HEBREW POINT QAMATS
  EXPECT_TRUE(is_nonspacing_mark(0x1734));   // Mn in 8.0, Mc since 14.0
  EXPECT_FALSE(is_nonspacing_mark(0x0903));  // DEVANAGARI SIGN VISARGA: Mc
  EXPECT_FALSE(is_nonspacing_mark(0x1885));  // Lo in 8.0, Mn since 9.0
  EXPECT_FALSE(is_nonspacing_mark(0x08D4));  // assigned in 9.0
  EXPECT_FALSE(is_nonspacing_mark(U'a'));
}

TEST(CanonicalDecomposition, DecomposesAndOrdersMarks) {
  EXPECT_EQ(canonical_decomposition(U"\u00e9"), U"e\u0301");
  EXPECT_EQ(canonical_decomposition(U"\u212b"), U"A\u030a");               // ANGSTROM SIGN
  EXPECT_EQ(canonical_decomposition(U"\u01d5"), U"U\u0308\u0304");         // recursive
  EXPECT_EQ(canonical_decomposition(U"\uac00"), U"\u1100\u1161");          // Hangul, algorithmic
  EXPECT_EQ(canonical_decomposition(U"a\u0302\u0323"), U"a\u0323\u0302");  // class 220 before 230
  EXPECT_EQ(canonical_decomposition(U"\ufb01"), U"\ufb01");                // a compatibility ligature stays
  EXPECT_EQ(canonical_decomposition(U"\U00011938"), U"\U00011938");        // decomposes only since 13.0
}

std::u32string lower(char32_t c) {
  std::u32string out;
  append_lowercase(c, out);
  return out;
}

TEST(Lowercase, FullMappingWithoutContext) {
  EXPECT_EQ(lower(U'A'), U"a");
  EXPECT_EQ(lower(0x130), U"i\u0307");  // LATIN CAPITAL LETTER I WITH DOT ABOVE
  EXPECT_EQ(lower(U'I'), U"i");         // not Turkish
  EXPECT_EQ(lower(0x3A3), U"\u03c3");   // capital sigma: never the final form
  EXPECT_EQ(lower(0x1E9E), U"\u00df");  // capital sharp s
  EXPECT_EQ(lower(0x1C5), U"\u01c6");   // titlecase Dz with caron
  EXPECT_EQ(lower(0x212A), U"k");       // KELVIN SIGN
  EXPECT_EQ(lower(0xDF), U"\u00df");
  EXPECT_EQ(lower(0x1F600), U"\U0001F600");
}

}  // namespace
}  // namespace attend::text
