#include "attend/text/vocabulary.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include "attend/core/error.h"
#include "attend/core/utf8.h"
#include "attend/text/unicode.h"
#include "io/json_file.h"

namespace attend::text {

namespace {

uint64_t hash_of(std::string_view token) { return std::hash<std::string_view>{}(token); }

}  // namespace

Vocabulary::Vocabulary(std::vector<std::string> tokens, const std::string& source)
    : tokens_(std::move(tokens)), source_(source) {
  ATTEND_CHECK(!tokens_.empty(), ValueError, "{} has no tokens", source_);
  ATTEND_CHECK(tokens_.size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max() / 4), ValueError,
               "{} has {} tokens, more than ids can number", source_, tokens_.size());
  size_t table_size = 16;
  while (table_size < 2 * tokens_.size()) table_size *= 2;
  slots_.resize(table_size);
  for (size_t id = 0; id < tokens_.size(); ++id) {
    const std::string& token = tokens_[id];
    ATTEND_CHECK(!token.empty(), ValueError, "{}: token {} (line {}) is empty", source_, id, id + 1);
    const uint32_t hash = static_cast<uint32_t>(hash_of(token));
    Slot& slot = slots_[slot_of(token, hash)];
    ATTEND_CHECK(slot.id < 0, ValueError, "{}: token '{}' appears twice, on lines {} and {}", source_, token,
                 slot.id + 1, id + 1);
    slot = {hash, static_cast<int32_t>(id)};
    longest_token_bytes_ = std::max(longest_token_bytes_, token.size());
  }
}

// The slot that holds `token`, or the empty slot where it would go.
size_t Vocabulary::slot_of(std::string_view token, uint32_t hash) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.id < 0 || (slot.hash == hash && tokens_[static_cast<size_t>(slot.id)] == token)) return i;
  }
}

std::optional<int32_t> Vocabulary::find(std::string_view token) const {
  const Slot& slot = slots_[slot_of(token, static_cast<uint32_t>(hash_of(token)))];
  if (slot.id < 0) return std::nullopt;
  return slot.id;
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

Vocabulary parse_vocabulary(std::string_view text, const std::string& source) {
  std::vector<std::string> tokens;
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start);
    std::string_view line = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    start = end == std::string_view::npos ? text.size() : end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t number = tokens.size() + 1;
    ATTEND_CHECK(!line.empty(), ValueError, "{}: line {} is empty; every line must hold a token", source, number);
    ATTEND_CHECK(is_utf8(line), ValueError, "{}: line {} is not valid UTF-8", source, number);
    tokens.emplace_back(line);
  }
  return Vocabulary(std::move(tokens), source);
}

Vocabulary load_vocabulary(const std::string& path) {
  return parse_vocabulary(io::read_small_file(path, kLargestVocabularyFile), path);
}

}  // namespace attend::text
