// GPT-2's pre-tokenizer against what the regex of Hugging Face `tokenizers` gives (each expected
// split below is pre_tokenize_str of ByteLevel(add_prefix_space=False) in tokenizers 0.23.3), and
// SmolLM2's against Sequence[Digits(individual_digits=True), ByteLevel(add_prefix_space=False)].
#include "attend/bpe/gpt2_pre_tokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "attend/core/error.h"

namespace attend::bpe {
namespace {

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> result;
  for (const std::string_view word : split_gpt2_words(text)) result.emplace_back(word);
  return result;
}

std::vector<std::string> smollm_words(std::string_view text) {
  std::vector<std::string> result;
  for (const std::string_view word : split_words(text, PreTokenizer::kSmolLM)) result.emplace_back(word);
  return result;
}

using Words = std::vector<std::string>;

TEST(BpePreTokenizer, WordsTakeTheSpaceBeforeThem) {
  EXPECT_EQ(words("Hello world"), (Words{"Hello", " world"}));
  EXPECT_EQ(words(" 2024 is 42!"), (Words{" 2024", " is", " 42", "!"}));
  EXPECT_EQ(words("x+=1; // ok?!"), (Words{"x", "+=", "1", ";", " //", " ok", "?!"}));
  EXPECT_EQ(words("abc123def"), (Words{"abc", "123", "def"}));
  EXPECT_EQ(words(""), Words{});
}

TEST(BpePreTokenizer, ContractionsAreWordsOfTheirOwn) {
  EXPECT_EQ(words("I'm don't we'll they're I've he'd it's"),
            (Words{"I", "'m", " don", "'t", " we", "'ll", " they", "'re", " I", "'ve", " he", "'d", " it", "'s"}));
  EXPECT_EQ(words("'S 'x ''s"), (Words{"'", "S", " '", "x", " ''", "s"}));  // case-sensitive
}

TEST(BpePreTokenizer, WhiteSpaceRunsLeaveTheirLastSpaceToTheNextWord) {
  EXPECT_EQ(words("a   b"), (Words{"a", "  ", " b"}));
  EXPECT_EQ(words("a \n b"), (Words{"a", " \n", " b"}));
  EXPECT_EQ(words("a\n\nb"), (Words{"a", "\n", "\n", "b"}));
  EXPECT_EQ(words("a\t b"), (Words{"a", "\t", " b"}));
  EXPECT_EQ(words("a  \n"), (Words{"a", "  \n"}));  // to the end: all of it
  EXPECT_EQ(words("  a"), (Words{" ", " a"}));
  EXPECT_EQ(words("a \u3000b"), (Words{"a", " ", "\u3000", "b"}));
}

TEST(BpePreTokenizer, LettersAndNumbersOfEveryScript) {
  EXPECT_EQ(words("日本語 テスト"), (Words{"日本語", " テスト"}));
  EXPECT_EQ(words("مرحبا ١٢٣"), (Words{"مرحبا", " ١٢٣"}));
  EXPECT_EQ(words("½x Ⅻ"), (Words{"½", "x", " Ⅻ"}));
  EXPECT_EQ(words("e\u0301t\u00e9"), (Words{"e", "\u0301", "t\u00e9"}));  // a combining mark is not \p{L}
  EXPECT_EQ(words("👍🏽 ok"), (Words{"👍🏽", " ok"}));
}

TEST(BpePreTokenizer, SmolLMSplitsOffEveryDigit) {
  EXPECT_EQ(smollm_words(" 2024 is 42!"), (Words{" ", "2", "0", "2", "4", " is", " ", "4", "2", "!"}));
  EXPECT_EQ(smollm_words("abc123def"), (Words{"abc", "1", "2", "3", "def"}));
  EXPECT_EQ(smollm_words("½x Ⅻ ١٢٣"), (Words{"½", "x", " ", "Ⅻ", " ", "١", "٢", "٣"}));
  EXPECT_EQ(smollm_words("It's 3'' 4's"), (Words{"It", "'s", " ", "3", "''", " ", "4", "'s"}));
  EXPECT_EQ(smollm_words("1 "), (Words{"1", " "}));
  EXPECT_EQ(smollm_words(""), Words{});
}

TEST(BpePreTokenizer, SmolLMScansTheTextBeforeADigitOnItsOwn) {
  // White space before a digit ends its stretch, so it stays whole; GPT-2's scanner alone leaves
  // the last space to the number.
  EXPECT_EQ(smollm_words("a   1"), (Words{"a", "   ", "1"}));
  EXPECT_EQ(words("a   1"), (Words{"a", "  ", " 1"}));
  EXPECT_EQ(smollm_words("a\n\n1"), (Words{"a", "\n\n", "1"}));
  EXPECT_EQ(words("a\n\n1"), (Words{"a", "\n", "\n", "1"}));
  EXPECT_EQ(smollm_words("a \u00a0 1"), (Words{"a", " \u00a0 ", "1"}));
  EXPECT_EQ(smollm_words("a 1 b"), (Words{"a", " ", "1", " b"}));
}

TEST(BpePreTokenizer, SmolLMDigitsOfUnicode17) {
  // U+11DE0 and U+11DE1 are digits for Rust's char::is_numeric (Unicode 17.0), unassigned for the
  // regex (16.0): words of their own, but not numbers to the scanner.
  EXPECT_TRUE(is_numeric(U'\U00011DE0'));
  EXPECT_EQ(char_class(U'\U00011DE0'), CharClass::kOther);
  EXPECT_EQ(smollm_words("\U00011DE0 \U00011DE1x"), (Words{"\U00011DE0", " ", "\U00011DE1", "x"}));
  EXPECT_EQ(words("\U00011DE0 \U00011DE1x"), (Words{"\U00011DE0", " \U00011DE1", "x"}));
}

TEST(BpePreTokenizer, NamedAsGgufFilesNameThem) {
  EXPECT_EQ(pre_tokenizer_named("gpt2"), PreTokenizer::kGpt2);
  EXPECT_EQ(pre_tokenizer_named("default"), PreTokenizer::kGpt2);
  EXPECT_EQ(pre_tokenizer_named("smollm"), PreTokenizer::kSmolLM);
  EXPECT_THROW(pre_tokenizer_named("llama3"), ValueError);
}

TEST(BpePreTokenizer, CharacterClassesAsTokenizersHasThem) {
  EXPECT_EQ(char_class(U'\u00A0'), CharClass::kWhiteSpace);
  EXPECT_EQ(char_class(U'\u0085'), CharClass::kWhiteSpace);
  EXPECT_EQ(char_class(U'\u001C'), CharClass::kOther);  // Python's isspace, not White_Space
  EXPECT_EQ(char_class(U'\u200B'), CharClass::kOther);  // zero width space: Cf
  EXPECT_EQ(char_class(U'\u0661'), CharClass::kNumber);
  EXPECT_EQ(char_class(U'\u00B2'), CharClass::kNumber);
  EXPECT_EQ(char_class(U'\u00AA'), CharClass::kLetter);
  EXPECT_EQ(char_class(U'\u0378'), CharClass::kOther);  // unassigned
  // Assigned after Unicode 15.0, which ICU 72 knows: CYRILLIC SMALL LETTER TJE (16.0).
  EXPECT_EQ(char_class(U'\u1C89'), CharClass::kLetter);
}

}  // namespace
}  // namespace attend::bpe
