// A WordPiece vocabulary: vocab.txt, one token a line, the line number (from 0) its id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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
  // An open-addressing index of tokens_ (linear probing, a power-of-two table at most half
  // full): a probe compares bytes only when the stored hash matches. WordPiece looks up every
  // candidate piece, about 60 per tweet, so this is its hot path; a flat table of 8-byte slots
  // stays in cache where a node-based map does not.
  struct Slot {
    uint32_t hash = 0;
    int32_t id = -1;  // -1: empty
  };
  size_t slot_of(std::string_view token, uint32_t hash) const;
  std::vector<std::string> tokens_;
  std::vector<Slot> slots_;
  std::string source_;
  size_t longest_token_bytes_ = 0;
};

// A vocab.txt larger than this is not one (the largest real ones, 250,000 tokens, are ~5 MB).
inline constexpr size_t kLargestVocabularyFile = size_t{256} << 20;

// The text of a vocab.txt: lines end in "\n" (a "\r" before it is dropped too); the last may
// lack it. Every line must be a token: an empty line or a line that is not UTF-8 is refused with
// its line number and `source`.
Vocabulary parse_vocabulary(std::string_view text, const std::string& source);
// Reads vocab.txt (parse_vocabulary of its bytes).
Vocabulary load_vocabulary(const std::string& path);

}  // namespace attend::text
