// Encodes lines with attend's BPE tokenizer for bench/peers/bpe_parity.py:
//
//   bpe_encode_lines VOCABULARY.json < lines > results
//
// Each input line is a JSON string; each output line is {"ids": [...], "decoded": "..."}, the
// ids of the text and the decoding of those ids. On stderr: the bytes encoded and the time the
// encoding alone took.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attend/bpe/bpe_tokenizer.h"
#include "bpe/bpe_fixtures.h"

namespace {

int run(const std::string& vocabulary_path) {
  const attend::bpe::BpeTokenizer tokenizer(attend::bpe::testing::load_vocabulary_json(vocabulary_path));
  std::vector<std::string> texts;
  for (std::string line; std::getline(std::cin, line);) texts.push_back(nlohmann::json::parse(line).get<std::string>());
  std::vector<std::vector<int32_t>> encodings;
  encodings.reserve(texts.size());
  size_t bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& text : texts) {
    encodings.push_back(tokenizer.encode(text));
    bytes += text.size();
  }
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  for (const auto& ids : encodings) {
    const nlohmann::json result = {{"ids", ids}, {"decoded", tokenizer.decode(ids)}};
    std::cout << result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  }
  fmt::print(stderr, "encoded {} lines, {} bytes in {:.3f} s: {:.2f} MB/s\n", texts.size(), bytes, seconds.count(),
             bytes / seconds.count() / 1e6);
  return std::cout.good() ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: bpe_encode_lines VOCABULARY.json < lines (JSON strings)\n");
    return 2;
  }
  try {
    return run(argv[1]);
  } catch (const std::exception& error) {
    fmt::print(stderr, "bpe_encode_lines: {}\n", error.what());
    return 1;
  }
}
