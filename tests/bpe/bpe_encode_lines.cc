// Encodes lines with attend's BPE tokenizer for bench/peers/bpe_parity.py:
//
//   bpe_encode_lines MODEL.gguf|VOCABULARY.json [--pre-tokenizer NAME] < lines > results
//
// The vocabulary comes from a GGUF file's tokenizer metadata (load_bpe_vocabulary) or from the
// JSON of bench/peers/bpe_golden.py --vocabulary; --pre-tokenizer overrides the one it names
// ("gpt2" gives the ids of transformers' GGUF tokenizer for a "smollm" file). Each input line is
// a JSON string; each output line is {"ids": [...], "decoded": "..."}, the ids of the text and the
// decoding of those ids. On stderr: the bytes encoded and the time the encoding alone took.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attend/bpe/bpe_tokenizer.h"
#include "attend/bpe/gguf_vocabulary.h"
#include "attend/gguf/gguf_file.h"
#include "bpe/bpe_fixtures.h"

namespace {

attend::bpe::BpeVocabulary load_vocabulary(const std::string& path) {
  if (path.ends_with(".gguf")) return attend::bpe::load_bpe_vocabulary(attend::gguf::File::open(path));
  return attend::bpe::testing::load_vocabulary_json(path);
}

int run(const std::string& vocabulary_path, const std::optional<std::string>& pre_tokenizer) {
  attend::bpe::BpeVocabulary vocabulary = load_vocabulary(vocabulary_path);
  if (pre_tokenizer) vocabulary.pre_tokenizer = *pre_tokenizer;
  const attend::bpe::BpeTokenizer tokenizer(vocabulary);
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
  const bool override = argc == 4 && std::string(argv[2]) == "--pre-tokenizer";
  if (argc != 2 && !override) {
    fmt::print(stderr,
               "usage: bpe_encode_lines MODEL.gguf|VOCABULARY.json [--pre-tokenizer NAME] < lines (JSON strings)\n");
    return 2;
  }
  try {
    return run(argv[1], override ? std::optional<std::string>(argv[3]) : std::nullopt);
  } catch (const std::exception& error) {
    fmt::print(stderr, "bpe_encode_lines: {}\n", error.what());
    return 1;
  }
}
