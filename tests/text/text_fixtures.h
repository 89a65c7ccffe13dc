// Small model directories for the text tests: a vocabulary and a tokenizer_config.json written
// into a test's own TempDir.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace attend::text::testing {

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary);
  file << bytes;
}

// The special tokens at ids 0-4, then `tokens`.
inline std::vector<std::string> small_vocabulary(const std::vector<std::string>& tokens) {
  std::vector<std::string> all = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  all.insert(all.end(), tokens.begin(), tokens.end());
  return all;
}

inline std::string vocabulary_file(const std::vector<std::string>& tokens) {
  std::string text;
  for (const auto& token : tokens) text += token + "\n";
  return text;
}

}  // namespace attend::text::testing
