// The golden ids of SmolLM2-135M-Instruct's own tokenizer (its tokenizer.json, the one the model
// was trained with, rebuilt with Hugging Face `tokenizers` from the GGUF file;
// tests/golden/smollm2_tokenizer_ids.jsonl, written by bench/peers/bpe_golden.py), and the
// comparison of a tokenizer with them.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attend/bpe/bpe_tokenizer.h"
#include "harness/golden_differences.h"

namespace attend::bpe::testing {

struct GoldenCase {
  std::string text;
  std::vector<int32_t> ids;
  std::string decoded;  // what `tokenizers` decodes the ids to: the text, but for bytes without a token
};

inline GoldenCase parse_golden_line(const std::string& line) {
  const auto json = nlohmann::json::parse(line);
  const auto text = json.at("text").get<std::string>();
  return {text, json.at("ids").get<std::vector<int32_t>>(), json.value("decoded", text)};
}

inline std::vector<GoldenCase> load_golden_cases(const std::filesystem::path& path) {
  std::ifstream file(path);
  EXPECT_TRUE(file.good()) << "cannot read " << path;
  std::vector<GoldenCase> cases;
  for (std::string line; std::getline(file, line);) cases.push_back(parse_golden_line(line));
  return cases;
}

// "" when `tokenizer` gives the case's ids and decodes them as `tokenizers` does; else what differs.
inline std::string golden_difference(const BpeTokenizer& tokenizer, const GoldenCase& golden) {
  const std::vector<int32_t> ids = tokenizer.encode(golden.text);
  if (ids != golden.ids) {
    size_t at = 0;
    while (at < ids.size() && at < golden.ids.size() && ids[at] == golden.ids[at]) ++at;
    return fmt::format("{:?}: ids differ from position {}: attend [{}], SmolLM2's tokenizer [{}]", golden.text, at,
                       fmt::join(ids, " "), fmt::join(golden.ids, " "));
  }
  const std::string decoded = tokenizer.decode(ids);
  if (decoded != golden.decoded) return fmt::format("{:?}: decodes to {:?}", golden.text, decoded);
  return "";
}

// Every golden case through `tokenizer`.
inline void expect_golden_ids(const BpeTokenizer& tokenizer) {
  expect_no_golden_differences(
      load_golden_cases(std::filesystem::path(ATTEND_GOLDEN_DIR) / "smollm2_tokenizer_ids.jsonl"), 500,
      [&](const GoldenCase& golden) { return golden_difference(tokenizer, golden); });
}

}  // namespace attend::bpe::testing
