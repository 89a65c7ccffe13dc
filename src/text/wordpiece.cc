#include "attend/text/wordpiece.h"

#include "attend/core/error.h"
#include "attend/text/unicode.h"

namespace attend::text {

WordPiece::WordPiece(Vocabulary vocabulary, WordPieceOptions options)
    : vocabulary_(std::move(vocabulary)),
      options_(std::move(options)),
      unknown_id_(vocabulary_.id_of(options_.unknown_token)) {
  ATTEND_CHECK(options_.max_input_chars_per_word >= 1, ValueError,
               "WordPiece: max_input_chars_per_word must be at least 1, not {}", options_.max_input_chars_per_word);
}

void WordPiece::tokenize(std::u32string_view word, std::vector<int32_t>& ids, std::vector<std::string>* pieces) const {
  const auto unknown = [&] {
    ids.push_back(unknown_id_);
    if (pieces != nullptr) pieces->push_back(options_.unknown_token);
  };
  if (static_cast<int64_t>(word.size()) > options_.max_input_chars_per_word) return unknown();
  // The word in UTF-8, with the byte offset where each code point starts (and the end).
  std::string bytes;
  std::vector<size_t> offsets;
  offsets.reserve(word.size() + 1);
  for (char32_t c : word) {
    offsets.push_back(bytes.size());
    append_utf8(c, bytes);
  }
  offsets.push_back(bytes.size());
  const size_t word_ids = ids.size(), word_pieces = pieces != nullptr ? pieces->size() : 0;
  std::string candidate;
  for (size_t start = 0; start < word.size();) {
    // The longest candidate that could be a token; the greedy search starts there.
    const size_t prefix_bytes = start > 0 ? options_.continuation_prefix.size() : 0;
    size_t end = word.size();
    while (end > start && prefix_bytes + offsets[end] - offsets[start] > vocabulary_.longest_token_bytes()) --end;
    for (; end > start; --end) {
      candidate.assign(start > 0 ? options_.continuation_prefix : std::string());
      candidate.append(bytes, offsets[start], offsets[end] - offsets[start]);
      if (const auto id = vocabulary_.find(candidate)) {
        ids.push_back(*id);
        if (pieces != nullptr) pieces->push_back(candidate);
        break;
      }
    }
    if (end == start) {  // no piece starts here: the whole word is unknown
      ids.resize(word_ids);
      if (pieces != nullptr) pieces->resize(word_pieces);
      return unknown();
    }
    start = end;
  }
}

}  // namespace attend::text
