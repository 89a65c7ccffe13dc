// Added tokens matched whole in the text, leftmost-longest, as `tokenizers` matches them.
#include "attend/bpe/added_tokens.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace attend::bpe {
namespace {

// Each segment as "text" or "#id".
std::vector<std::string> segments(const AddedTokens& added, std::string_view text, bool match_special = true) {
  std::vector<std::string> result;
  for (const TextSegment& segment : added.split(text, match_special)) {
    result.push_back(segment.added_id >= 0 ? "#" + std::to_string(segment.added_id) : std::string(segment.text));
  }
  return result;
}

using Segments = std::vector<std::string>;

TEST(BpeAddedTokens, LeftmostThenLongest) {
  AddedTokens added;
  added.add("<a>", 1, true);
  added.add("<a>b", 2, false);
  added.add("a>b<", 3, false);
  EXPECT_EQ(segments(added, "x<a>b<a>y"), (Segments{"x", "#2", "#1", "y"}));
  EXPECT_EQ(segments(added, "<a><a>"), (Segments{"#1", "#1"}));
  EXPECT_EQ(segments(added, "no tokens"), (Segments{"no tokens"}));
  EXPECT_EQ(segments(added, ""), Segments{});
}

TEST(BpeAddedTokens, SpecialTokensCanStayText) {
  AddedTokens added;
  added.add("<|im_start|>", 1, true);
  added.add("<u>", 5, false);
  added.add("im", 6, false);
  EXPECT_EQ(segments(added, "a<|im_start|>b<u>", false), (Segments{"a<|im_start|>b", "#5"}));
  // The special token's span is consumed even when it stays text: "im" inside is not found.
  EXPECT_EQ(segments(added, "<|im_start|>im", false), (Segments{"<|im_start|>", "#6"}));
  EXPECT_EQ(segments(added, "<|im_start|>im", true), (Segments{"#1", "#6"}));
  EXPECT_TRUE(added.is_special(1));
  EXPECT_FALSE(added.is_special(5));
}

TEST(BpeAddedTokens, WhitespaceAroundATokenStays) {
  AddedTokens added;
  added.add("<s>", 1, true);
  EXPECT_EQ(segments(added, " <s> \n"), (Segments{" ", "#1", " \n"}));
}

TEST(BpeAddedTokens, TheFirstOfTwoEqualContentsWins) {
  AddedTokens added;
  added.add("<s>", 1, true);
  added.add("<s>", 2, false);
  added.add("", 3, false);  // ignored: it would match everywhere
  EXPECT_EQ(segments(added, "<s>"), (Segments{"#1"}));
}

}  // namespace
}  // namespace attend::bpe
