// WordPiece (Schuster & Nakajima 2012; BERT, Devlin et al. 2019), as tokenizers' WordPiece model
// applies it to one word:
//
//   if the word has more than max_input_chars_per_word code points:  [UNK]
//   start = 0
//   while start < length:
//     end = the largest end > start such that piece = word[start, end), written "##" + piece
//           when start > 0, is in the vocabulary          (greedy longest match)
//     if there is none: the whole word is [UNK]
//     emit piece; start = end
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attend/text/vocabulary.h"

namespace attend::text {

struct WordPieceOptions {
  std::string unknown_token = "[UNK]";
  std::string continuation_prefix = "##";
  int64_t max_input_chars_per_word = 100;
};

class WordPiece {
 public:
  // Throws ValueError when the vocabulary lacks the unknown token or the limit is below 1.
  explicit WordPiece(Vocabulary vocabulary, WordPieceOptions options = {});

  // Appends the ids of `word`'s pieces to `ids`, and their text to `pieces` when not null.
  void tokenize(std::u32string_view word, std::vector<int32_t>& ids, std::vector<std::string>* pieces) const;

  int32_t unknown_id() const { return unknown_id_; }
  const Vocabulary& vocabulary() const { return vocabulary_; }

 private:
  Vocabulary vocabulary_;
  WordPieceOptions options_;
  int32_t unknown_id_;
};

}  // namespace attend::text
