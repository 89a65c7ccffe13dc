#include "attend/text/truncation.h"

#include <gtest/gtest.h>

#include "attend/core/error.h"

namespace attend::text {
namespace {

struct Case {
  int64_t first, second, budget, kept_first, kept_second;
};

// Budget 7, as in tokenizers' own test of longest_first, and a few more.
TEST(Truncation, LongestFirstKeepsTheShortOneWhenItCan) {
  const Case cases[] = {
      {0, 0, 7, 0, 0}, {0, 2, 7, 0, 2},   {0, 8, 7, 0, 7},   {2, 2, 7, 2, 2},   {2, 4, 7, 2, 4}, {2, 8, 7, 2, 5},
      {4, 0, 7, 4, 0}, {4, 4, 7, 3, 4},   {4, 8, 7, 3, 4},   {8, 0, 7, 7, 0},   {8, 2, 7, 5, 2}, {8, 4, 7, 4, 3},
      {8, 8, 7, 3, 4}, {10, 10, 8, 4, 4}, {3, 100, 8, 3, 5}, {100, 3, 8, 5, 3}, {5, 5, 0, 0, 0}, {1, 1, 1, 0, 1},
  };
  for (const Case& c : cases) {
    const KeptLengths kept = longest_first(c.first, c.second, c.budget);
    EXPECT_EQ(kept.first, c.kept_first) << c.first << ", " << c.second << " in " << c.budget;
    EXPECT_EQ(kept.second, c.kept_second) << c.first << ", " << c.second << " in " << c.budget;
  }
}

TEST(Truncation, RefusesNegativeLengths) {
  EXPECT_THROW(longest_first(-1, 2, 3), ValueError);
  EXPECT_THROW(longest_first(1, 2, -3), ValueError);
}

}  // namespace
}  // namespace attend::text
