#include "attend/text/bert_pre_tokenizer.h"

#include <gtest/gtest.h>

#include <string>

namespace attend::text {
namespace {

std::vector<std::u32string> words(std::u32string_view text) {
  std::vector<std::u32string> out;
  for (const auto word : split_words(text)) out.emplace_back(word);
  return out;
}

TEST(BertPreTokenizer, SplitsAtSpacesAndIsolatesPunctuation) {
  EXPECT_EQ(words(U"Hi there!  How's it?!"),
            (std::vector<std::u32string>{U"Hi", U"there", U"!", U"How", U"'", U"s", U"it", U"?", U"!"}));
  EXPECT_EQ(words(U"$5 a+b=c ~x"), (std::vector<std::u32string>{U"$", U"5", U"a", U"+", U"b", U"=", U"c", U"~", U"x"}));
  EXPECT_EQ(words(U"\u00abcitation\u00bb \u2014 \u3002"),
            (std::vector<std::u32string>{U"\u00ab", U"citation", U"\u00bb", U"\u2014", U"\u3002"}));
  EXPECT_EQ(words(U"a\u00a0b\u3000c"), (std::vector<std::u32string>{U"a", U"b", U"c"}));
  EXPECT_EQ(words(U"\u00a9 \u20ac5"), (std::vector<std::u32string>{U"\u00a9", U"\u20ac5"}));  // symbols stay
  EXPECT_TRUE(words(U"").empty());
  EXPECT_TRUE(words(U"   ").empty());
}

TEST(BertPreTokenizer, AsciiPunctuationIncludesSymbols) {
  for (char32_t c : std::u32string(U"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")) EXPECT_TRUE(is_bert_punctuation(c));
  for (char32_t c : std::u32string(U"aZ09 \u00a9")) EXPECT_FALSE(is_bert_punctuation(c));
}

}  // namespace
}  // namespace attend::text
