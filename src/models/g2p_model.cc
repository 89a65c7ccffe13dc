#include "attend/models/g2p_model.h"

#include <algorithm>
#include <cctype>

#include "attend/core/error.h"
#include "attend/data/cmudict.h"

namespace attend::models {

Vocabulary::Vocabulary(const std::vector<std::string>& symbols) : symbols_{"<pad>", "<s>", "</s>", "<unk>"} {
  for (const auto& s : symbols) symbols_.push_back(s);
  for (size_t i = 0; i < symbols_.size(); ++i) {
    ATTEND_CHECK(ids_.emplace(symbols_[i], static_cast<int64_t>(i)).second, ValueError,
                 "Vocabulary: symbol '{}' appears twice", symbols_[i]);
  }
}

int64_t Vocabulary::id(const std::string& symbol) const {
  const auto found = ids_.find(symbol);
  return found == ids_.end() ? kUnknown : found->second;
}

const std::string& Vocabulary::symbol(int64_t id) const {
  ATTEND_CHECK(id >= 0 && id < size(), ValueError, "Vocabulary: id {} is out of range [0, {})", id, size());
  return symbols_[id];
}

Vocabulary letter_vocabulary() {
  std::vector<std::string> letters;
  for (char c = 'a'; c <= 'z'; ++c) letters.emplace_back(1, c);
  letters.emplace_back("'");
  return Vocabulary(letters);
}

Vocabulary phoneme_vocabulary() { return Vocabulary(data::cmudict_phonemes()); }

std::vector<int64_t> encode_word(const Vocabulary& letters, const std::string& word) {
  ATTEND_CHECK(!word.empty(), ValueError, "g2p: empty word");
  std::vector<int64_t> ids;
  for (char raw : word) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(raw)));
    const std::string symbol(1, c);
    ATTEND_CHECK(letters.contains(symbol), ValueError,
                 "g2p: '{}' has the character '{}' outside the vocabulary (letters a-z and the apostrophe)", word,
                 std::string(1, raw));
    ids.push_back(letters.id(symbol));
  }
  ids.push_back(Vocabulary::kEnd);
  return ids;
}

IndexTensor pad_batch(const std::vector<std::vector<int64_t>>& sequences) {
  size_t longest = 0;
  for (const auto& s : sequences) longest = std::max(longest, s.size());
  IndexTensor batch =
      IndexTensor::full({static_cast<int64_t>(sequences.size()), static_cast<int64_t>(longest)}, Vocabulary::kPad);
  for (size_t b = 0; b < sequences.size(); ++b)
    std::copy(sequences[b].begin(), sequences[b].end(), batch.data() + b * longest);
  return batch;
}

int64_t edit_distance(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  std::vector<int64_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<int64_t>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    int64_t diagonal = row[0];
    row[0] = static_cast<int64_t>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int64_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace attend::models
