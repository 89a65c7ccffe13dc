// Added tokens matched whole, leftmost-longest (bpe/added_tokens.h).
#include "attend/bpe/added_tokens.h"

#include <algorithm>

namespace attend::bpe {

void AddedTokens::add(std::string content, int32_t id, bool special) {
  if (content.empty()) return;
  for (const Token& token : tokens_) {
    if (token.content == content) return;
  }
  std::vector<size_t>& candidates = by_first_byte_[static_cast<uint8_t>(content[0])];
  tokens_.push_back({std::move(content), id, special});
  candidates.push_back(tokens_.size() - 1);
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](size_t a, size_t b) { return tokens_[a].content.size() > tokens_[b].content.size(); });
  if (special) special_ids_.insert(std::upper_bound(special_ids_.begin(), special_ids_.end(), id), id);
}

bool AddedTokens::is_special(int32_t id) const {
  return std::binary_search(special_ids_.begin(), special_ids_.end(), id);
}

const AddedTokens::Token* AddedTokens::longest_match(std::string_view text, size_t at) const {
  for (const size_t index : by_first_byte_[static_cast<uint8_t>(text[at])]) {
    if (text.substr(at).starts_with(tokens_[index].content)) return &tokens_[index];
  }
  return nullptr;
}

std::vector<TextSegment> AddedTokens::split(std::string_view text, bool match_special) const {
  std::vector<TextSegment> segments;
  size_t text_start = 0;  // where the text not yet emitted begins
  for (size_t at = 0; at < text.size();) {
    const Token* token = tokens_.empty() ? nullptr : longest_match(text, at);
    if (token == nullptr) {
      ++at;
      continue;
    }
    if (token->special && !match_special) {
      at += token->content.size();
      continue;
    }
    if (at > text_start) segments.push_back({text.substr(text_start, at - text_start), -1});
    segments.push_back({text.substr(at, token->content.size()), token->id});
    at += token->content.size();
    text_start = at;
  }
  if (text_start < text.size()) segments.push_back({text.substr(text_start), -1});
  return segments;
}

}  // namespace attend::bpe
