// G2P batches: a pure function of (seed, step), every pronunciation once per epoch, and less
// padding than unsorted batches.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "attend/core/random.h"
#include "attend/data/cmudict.h"
#include "attend/models/g2p_model.h"
#include "attend/train/g2p_training.h"

namespace attend {
namespace {

// 50 made-up words of lengths 1..12, one with two pronunciations.
std::vector<data::DictionaryEntry> fake_entries() {
  std::vector<data::DictionaryEntry> entries;
  Generator generator(5);
  for (int i = 0; i < 50; ++i) {
    data::DictionaryEntry entry;
    const int length = 1 + static_cast<int>(generator.uniform_int(12));
    for (int c = 0; c < length; ++c) entry.word += static_cast<char>('a' + generator.uniform_int(26));
    entry.pronunciations.push_back(std::vector<std::string>(length, "AH"));
    if (i == 7) entry.pronunciations.push_back({"K"});
    entries.push_back(entry);
  }
  return entries;
}

// Source rows as strings, to compare batches.
std::vector<std::vector<int64_t>> rows(const IndexTensor& t) {
  std::vector<std::vector<int64_t>> out(t.size(0));
  for (int64_t b = 0; b < t.size(0); ++b) {
    for (int64_t i = 0; i < t.size(1); ++i) out[b].push_back(t.at({b, i}));
  }
  return out;
}

TEST(G2PBatches, PureFunctionOfSeedAndStep) {
  const auto entries = fake_entries();
  train::G2PBatches a(entries, 8, 1), b(entries, 8, 1), other_seed(entries, 8, 2);
  EXPECT_EQ(a.examples(), 51);
  // b visits steps in another order (as a resumed run does): same batches.
  const auto late = b.batch(13);
  const auto early = b.batch(2);
  EXPECT_EQ(rows(a.batch(2).source), rows(early.source));
  EXPECT_EQ(rows(a.batch(13).target_in), rows(late.target_in));
  EXPECT_EQ(rows(a.batch(13).target_out), rows(late.target_out));
  EXPECT_NE(rows(a.batch(2).source), rows(other_seed.batch(2).source));
}

TEST(G2PBatches, EveryPronunciationOncePerEpochWithShiftedTargets) {
  const auto entries = fake_entries();
  // 51 examples, batch 3: epoch 0 is exactly steps 0..16.
  train::G2PBatches batches(entries, 3, 9);
  std::map<std::vector<int64_t>, int> seen;  // (source + target_out) -> count
  int64_t tokens = 0;
  for (int64_t step = 0; step < 17; ++step) {
    const auto batch = batches.batch(step);
    tokens += batch.target_tokens;
    for (int64_t b = 0; b < 3; ++b) {
      std::vector<int64_t> key;
      for (int64_t i = 0; i < batch.source.size(1); ++i) {
        if (batch.source.at({b, i}) != models::Vocabulary::kPad) key.push_back(batch.source.at({b, i}));
      }
      key.push_back(-1);
      for (int64_t i = 0; i < batch.target_out.size(1); ++i) {
        const int64_t out = batch.target_out.at({b, i});
        if (out == models::Vocabulary::kPad) continue;
        key.push_back(out);
        // target_in is target_out shifted right by one, starting with <s>.
        EXPECT_EQ(batch.target_in.at({b, i}), i == 0 ? models::Vocabulary::kStart : batch.target_out.at({b, i - 1}));
      }
      ++seen[key];
    }
  }
  int64_t expected_tokens = 0;
  for (const auto& entry : entries) {
    for (const auto& p : entry.pronunciations) expected_tokens += static_cast<int64_t>(p.size()) + 1;
  }
  EXPECT_EQ(tokens, expected_tokens);
  int total = 0;
  for (const auto& [key, count] : seen) total += count;
  EXPECT_EQ(total, 51);
}

TEST(G2PBatches, LengthSortingReducesPadding) {
  const auto entries = fake_entries();
  train::G2PBatches batches(entries, 4, 3);
  int64_t padded = 0, real = 0;
  for (int64_t step = 0; step < 12; ++step) {
    const auto batch = batches.batch(step);
    padded += batch.source.numel();
    for (int64_t i = 0; i < batch.source.numel(); ++i) real += batch.source.data()[i] != models::Vocabulary::kPad;
  }
  // The same words in shuffled, unsorted batches of 4.
  std::vector<size_t> lengths;
  for (const auto& entry : entries) lengths.push_back(entry.word.size() + 1);
  Generator shuffle(3);
  for (size_t i = lengths.size() - 1; i > 0; --i) std::swap(lengths[i], lengths[shuffle.uniform_int(i + 1)]);
  int64_t unsorted_padded = 0, unsorted_real = 0;
  for (size_t begin = 0; begin + 4 <= lengths.size(); begin += 4) {
    const size_t longest = *std::max_element(lengths.begin() + begin, lengths.begin() + begin + 4);
    unsorted_padded += 4 * static_cast<int64_t>(longest);
    for (size_t i = begin; i < begin + 4; ++i) unsorted_real += static_cast<int64_t>(lengths[i]);
  }
  const double sorted_fill = static_cast<double>(real) / padded;
  const double unsorted_fill = static_cast<double>(unsorted_real) / unsorted_padded;
  EXPECT_GT(sorted_fill, 0.8);
  EXPECT_GT(sorted_fill, unsorted_fill + 0.1) << "unsorted " << unsorted_fill;
}

}  // namespace
}  // namespace attend
