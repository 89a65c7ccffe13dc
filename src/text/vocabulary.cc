#include "attend/text/vocabulary.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include "attend/core/error.h"
#include "attend/text/unicode.h"

namespace attend::text {

Vocabulary::Vocabulary(std::vector<std::string> tokens, const std::string& source)
    : tokens_(std::move(tokens)), source_(source) {
  ATTEND_CHECK(!tokens_.empty(), ValueError, "{} has no tokens", source_);
  ATTEND_CHECK(tokens_.size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()), ValueError,
               "{} has {} tokens, more than ids can number", source_, tokens_.size());
  ids_.reserve(tokens_.size());
  for (size_t id = 0; id < tokens_.size(); ++id) {
    ATTEND_CHECK(!tokens_[id].empty(), ValueError, "{}: token {} (line {}) is empty", source_, id, id + 1);
    const auto [it, inserted] = ids_.emplace(tokens_[id], static_cast<int32_t>(id));
    ATTEND_CHECK(inserted, ValueError, "{}: token '{}' appears twice, on lines {} and {}", source_, tokens_[id],
                 it->second + 1, id + 1);
    longest_token_bytes_ = std::max(longest_token_bytes_, tokens_[id].size());
  }
}

std::optional<int32_t> Vocabulary::find(std::string_view token) const {
  const auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

int32_t Vocabulary::id_of(std::string_view token) const {
  const auto id = find(token);
  ATTEND_CHECK(id.has_value(), ValueError, "{} lacks the token '{}'", source_, token);
  return *id;
}

const std::string& Vocabulary::token(int32_t id) const {
  ATTEND_CHECK(id >= 0 && id < size(), ValueError, "token id {} is outside [0, {}) of {}", id, size(), source_);
  return tokens_[static_cast<size_t>(id)];
}

Vocabulary load_vocabulary(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  ATTEND_CHECK(file.good(), ValueError, "cannot read the vocabulary '{}'", path);
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(file, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t number = tokens.size() + 1;
    ATTEND_CHECK(!line.empty(), ValueError, "{}: line {} is empty; every line must hold a token", path, number);
    ATTEND_CHECK(encode_utf8(decode_utf8(line)) == line, ValueError, "{}: line {} is not valid UTF-8", path, number);
    tokens.push_back(line);
  }
  ATTEND_CHECK(!file.bad(), ValueError, "reading the vocabulary '{}' failed", path);
  return Vocabulary(std::move(tokens), path);
}

}  // namespace attend::text
