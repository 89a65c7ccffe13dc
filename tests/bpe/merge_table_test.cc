// Byte-pair merges by rank, as `tokenizers`' BPE model applies them.
#include "attend/bpe/merge_table.h"

#include <gtest/gtest.h>

#include <vector>

namespace attend::bpe {
namespace {

// Symbols 1 'a', 2 'b', 3 'c'; merged tokens from 10 on.
constexpr int32_t a = 1, b = 2, c = 3;

TEST(BpeMergeTable, LowestRankFirst) {
  MergeTable merges;
  merges.add(b, c, 10);  // rank 0: bc
  merges.add(a, b, 11);  // rank 1: ab, which never forms: b went into bc first
  std::vector<int32_t> ids = {a, b, c};
  merges.merge_word(ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{a, 10}));
}

TEST(BpeMergeTable, MergedSymbolsMergeAgain) {
  MergeTable merges;
  merges.add(a, b, 10);   // ab
  merges.add(10, c, 11);  // abc
  merges.add(c, c, 12);   // cc, ranked below ab + c
  std::vector<int32_t> ids = {a, b, c, c};
  merges.merge_word(ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{11, c}));
}

TEST(BpeMergeTable, EqualRanksMergeLeftmostFirst) {
  MergeTable merges;
  merges.add(a, a, 10);
  std::vector<int32_t> three = {a, a, a}, four = {a, a, a, a};
  merges.merge_word(three);
  merges.merge_word(four);
  EXPECT_EQ(three, (std::vector<int32_t>{10, a}));
  EXPECT_EQ(four, (std::vector<int32_t>{10, 10}));
}

TEST(BpeMergeTable, APairListedTwiceKeepsItsLaterRank) {
  MergeTable merges;
  merges.add(a, b, 10);  // rank 0, replaced by rank 2 below
  merges.add(b, c, 11);  // rank 1
  merges.add(a, b, 10);  // rank 2
  std::vector<int32_t> ids = {a, b, c};
  merges.merge_word(ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{a, 11}));
  EXPECT_EQ(merges.size(), 3);
}

TEST(BpeMergeTable, NoMergesLeavesTheBytes) {
  MergeTable merges;
  std::vector<int32_t> ids = {c, b, a}, one = {a}, none;
  merges.merge_word(ids);
  merges.merge_word(one);
  merges.merge_word(none);
  EXPECT_EQ(ids, (std::vector<int32_t>{c, b, a}));
  EXPECT_EQ(one, (std::vector<int32_t>{a}));
  EXPECT_TRUE(none.empty());
}

}  // namespace
}  // namespace attend::bpe
