#include "attend/sampling/stop_matcher.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "attend/core/error.h"
#include "attend/core/random.h"
#include "harness/expect_error.h"

namespace attend::sampling {
namespace {

// What each feed emits, one string per piece.
std::vector<std::string> emitted(StopMatcher& matcher, const std::vector<std::string>& pieces) {
  std::vector<std::string> out;
  for (const std::string& piece : pieces) out.push_back(matcher.feed(piece).emit);
  return out;
}

TEST(SamplingStopMatcher, StopSplitAcrossPieces) {
  StopMatcher matcher({"</s>"});
  EXPECT_EQ(emitted(matcher, {"Hello <", "/", "s> world"}), (std::vector<std::string>{"Hello ", "", ""}));
  EXPECT_TRUE(matcher.stopped());
  const StopStep after = matcher.feed("more");
  EXPECT_TRUE(after.stopped);
  EXPECT_EQ(after.emit, "");
}

TEST(SamplingStopMatcher, AFalseStartIsReleased) {
  StopMatcher matcher({"STOP"});
  EXPECT_EQ(emitted(matcher, {"a ST", "ART", "S", "TO", "P!"}), (std::vector<std::string>{"a ", "START", "", "", ""}));
  EXPECT_TRUE(matcher.stopped());
}

// "aaab" against "aab": after "aaa" the last two a's may still begin the stop, the first not.
TEST(SamplingStopMatcher, OverlappingPrefixes) {
  StopMatcher matcher({"aab"});
  EXPECT_EQ(emitted(matcher, {"a", "a", "a", "b"}), (std::vector<std::string>{"", "", "a", ""}));
  EXPECT_TRUE(matcher.stopped());
  StopMatcher two({"abcd", "bce"});
  EXPECT_EQ(emitted(two, {"xab", "c", "e"}), (std::vector<std::string>{"x", "", "a"}));
}

TEST(SamplingStopMatcher, EarliestStopWinsAndAStopInsideOnePiece) {
  StopMatcher matcher({"world", "lo w"});
  const StopStep step = matcher.feed("hello world");
  EXPECT_TRUE(step.stopped);
  EXPECT_EQ(step.emit, "hel");
}

TEST(SamplingStopMatcher, FlushReleasesTheHeldBackText) {
  StopMatcher matcher({"</s>"});
  EXPECT_EQ(matcher.feed("abc</").emit, "abc");
  EXPECT_EQ(matcher.flush(), "</");
  EXPECT_FALSE(matcher.stopped());
  StopMatcher none({});
  EXPECT_EQ(emitted(none, {"any", "thing"}), (std::vector<std::string>{"any", "thing"}));
}

TEST(SamplingStopMatcher, RejectsAnEmptyStopString) {
  expect_error<ValueError>([] { StopMatcher matcher({"ok", ""}); }, {"stop string 1 is empty"});
}

// Random texts over a small alphabet cut into random pieces: everything emitted, plus the flush
// when no stop came, is the text up to its first stop string, and never more at any moment.
TEST(SamplingStopMatcher, AgreesWithSearchingTheWholeText) {
  Generator generator(21);
  const std::vector<std::string> stops = {"abab", "bba", "c"};
  for (int trial = 0; trial < 500; ++trial) {
    std::string text;
    const size_t length = generator.uniform_int(30);
    for (size_t i = 0; i < length; ++i) text += "ab"[generator.uniform_int(2)];
    if (generator.uniform_int(4) == 0) text.insert(generator.uniform_int(text.size() + 1), "c");
    size_t cut = std::string::npos;
    for (const std::string& stop : stops) cut = std::min(cut, text.find(stop));
    const std::string expected = text.substr(0, cut);
    StopMatcher matcher(stops);
    std::string shown;
    for (size_t at = 0; at < text.size();) {
      const size_t piece = 1 + generator.uniform_int(4);
      shown += matcher.feed(text.substr(at, piece)).emit;
      ASSERT_EQ(expected.substr(0, shown.size()), shown) << "text '" << text << "'";
      at += piece;
    }
    EXPECT_EQ(matcher.stopped(), cut != std::string::npos) << text;
    if (!matcher.stopped()) shown += matcher.flush();
    EXPECT_EQ(shown, expected) << "text '" << text << "'";
  }
}

}  // namespace
}  // namespace attend::sampling
