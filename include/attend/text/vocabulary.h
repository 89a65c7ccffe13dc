// A WordPiece vocabulary: vocab.txt, one token a line, the line number (from 0) its id.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace attend::text {

class Vocabulary {
 public:
  // Tokens in id order. Throws ValueError on an empty token or a duplicate (naming both
  // positions); `source` names where they came from in the message.
  explicit Vocabulary(std::vector<std::string> tokens, const std::string& source = "the vocabulary");

  std::optional<int32_t> find(std::string_view token) const;
  // The id of a token that must be there: ValueError naming `token` and the source otherwise.
  int32_t id_of(std::string_view token) const;
  const std::string& token(int32_t id) const;
  int32_t size() const { return static_cast<int32_t>(tokens_.size()); }
  // The bytes of the longest token: no longer candidate can match.
  size_t longest_token_bytes() const { return longest_token_bytes_; }
  const std::string& source() const { return source_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> ids_;
  std::string source_;
  size_t longest_token_bytes_ = 0;
};

// Reads vocab.txt: lines end in "\n" (a "\r" before it is dropped too); the last may lack it.
// Every line must be a token: an empty line or a line that is not UTF-8 is refused with its
// line number.
Vocabulary load_vocabulary(const std::string& path);

}  // namespace attend::text
