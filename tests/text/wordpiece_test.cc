#include "attend/text/wordpiece.h"

#include <gtest/gtest.h>

#include "attend/core/error.h"
#include "harness/expect_error.h"
#include "text/text_fixtures.h"

namespace attend::text {
namespace {

WordPiece small_wordpiece(WordPieceOptions options = {}) {
  // ids: 5 un, 6 ##aff, 7 ##able, 8 a, 9 ##a, 10 ##af, 11 caf, 12 ##é
  return WordPiece(
      Vocabulary(testing::small_vocabulary({"un", "##aff", "##able", "a", "##a", "##af", "caf", "##\xc3\xa9"})),
      std::move(options));
}

struct Pieces {
  std::vector<int32_t> ids;
  std::vector<std::string> pieces;
};

Pieces pieces_of(const WordPiece& wordpiece, std::u32string_view word) {
  Pieces out;
  wordpiece.tokenize(word, out.ids, &out.pieces);
  return out;
}

TEST(WordPiece, GreedyLongestMatchWithContinuations) {
  const WordPiece wordpiece = small_wordpiece();
  const Pieces unaffable = pieces_of(wordpiece, U"unaffable");
  EXPECT_EQ(unaffable.ids, (std::vector<int32_t>{5, 6, 7}));
  EXPECT_EQ(unaffable.pieces, (std::vector<std::string>{"un", "##aff", "##able"}));  // ##aff before ##af
  EXPECT_EQ(pieces_of(wordpiece, U"caf\u00e9").pieces, (std::vector<std::string>{"caf", "##\xc3\xa9"}));
  EXPECT_EQ(pieces_of(wordpiece, U"aaa").ids, (std::vector<int32_t>{8, 9, 9}));
}

TEST(WordPiece, AWordWithAnUnknownPieceIsOneUnknown) {
  const WordPiece wordpiece = small_wordpiece();
  std::vector<int32_t> ids = {42};
  std::vector<std::string> pieces = {"before"};
  wordpiece.tokenize(U"unaffablex", ids, &pieces);  // "un ##aff ##able" then no piece for "x"
  EXPECT_EQ(ids, (std::vector<int32_t>{42, 1}));
  EXPECT_EQ(pieces, (std::vector<std::string>{"before", "[UNK]"}));
  // A word's start is looked up as it is: "##a" itself matches (BERT's pre-tokenizer never
  // leaves a '#' inside a word).
  EXPECT_EQ(pieces_of(wordpiece, U"##a").ids, (std::vector<int32_t>{9}));
}

TEST(WordPiece, WordsLongerThanTheLimitAreUnknown) {
  const WordPiece wordpiece = small_wordpiece();
  EXPECT_EQ(pieces_of(wordpiece, std::u32string(100, U'a')).ids.size(), 100u);
  EXPECT_EQ(pieces_of(wordpiece, std::u32string(101, U'a')).ids, (std::vector<int32_t>{1}));
  const WordPiece short_words = small_wordpiece({"[UNK]", "##", 3});
  EXPECT_EQ(pieces_of(short_words, U"aaa").ids.size(), 3u);
  EXPECT_EQ(pieces_of(short_words, U"aaaa").ids, (std::vector<int32_t>{1}));
}

TEST(WordPiece, RefusesAVocabularyWithoutItsUnknownToken) {
  expect_error<ValueError>([] { WordPiece(Vocabulary({"a", "b"}, "tiny")); }, {"tiny lacks the token '[UNK]'"});
  expect_error<ValueError>(
      [] {
        small_wordpiece({"[UNK]", "##", 0});
      },
      {"max_input_chars_per_word must be at least 1"});
}

}  // namespace
}  // namespace attend::text
