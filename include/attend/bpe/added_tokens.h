// Added tokens: strings matched whole in the raw text before it is cut into words, as Hugging
// Face `tokenizers`' AddedVocabulary matches the tokens it does not normalize (an Aho-Corasick
// automaton, leftmost-longest): scanning left to right, the first position where some token
// starts wins, and of the tokens starting there the longest. The text between matches is
// encoded as usual. Special tokens (a GGUF's control tokens: "<|im_start|>") can be left
// unmatched (`tokenizers`' encode_special_tokens): their text is then ordinary text, but their
// span is still consumed by the match, so a shorter token inside it is not found, as there.
// No whitespace around a match is stripped (every token here has lstrip, rstrip and
// single_word off: transformers' GGUF conversion adds them so).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attend::bpe {

struct TextSegment {
  std::string_view text;
  int32_t added_id = -1;  // the added token's id, or -1 for text to encode
};

class AddedTokens {
 public:
  // Adds `content` (non-empty) as token `id`; the first of two equal contents wins.
  void add(std::string content, int32_t id, bool special);
  bool empty() const { return tokens_.empty(); }
  bool is_special(int32_t id) const;

  // `text` cut at the added tokens found in it, in order; with match_special false, a special
  // token's match stays in the text around it.
  std::vector<TextSegment> split(std::string_view text, bool match_special) const;

 private:
  struct Token {
    std::string content;
    int32_t id;
    bool special;
  };
  // The longest token that starts at text[at], or nullptr.
  const Token* longest_match(std::string_view text, size_t at) const;

  std::vector<Token> tokens_;
  std::array<std::vector<size_t>, 256> by_first_byte_;  // indices into tokens_, longest first
  std::vector<int32_t> special_ids_;                    // sorted
};

}  // namespace attend::bpe
