// The byte-level BPE tokenizer (bpe/bpe_tokenizer.h): the vocabulary's checks and tables,
// encoding and decoding.
#include "attend/bpe/bpe_tokenizer.h"

#include "attend/bpe/byte_alphabet.h"
#include "attend/bpe/gpt2_pre_tokenizer.h"
#include "attend/bpe/utf8_repair.h"
#include "attend/core/error.h"
#include "attend/core/utf8.h"

namespace attend::bpe {
namespace {

void check_optional_id(const std::optional<int32_t>& id, const char* name, size_t vocabulary_size) {
  ATTEND_CHECK(!id || (*id >= 0 && static_cast<size_t>(*id) < vocabulary_size), ValueError,
               "BPE vocabulary: {} {} is outside the vocabulary of {} tokens", name, id.value_or(0), vocabulary_size);
}

void check_vocabulary(const BpeVocabulary& vocabulary) {
  ATTEND_CHECK(!vocabulary.tokens.empty(), ValueError, "BPE vocabulary: no tokens");
  ATTEND_CHECK(vocabulary.tokens.size() < size_t{INT32_MAX}, ValueError, "BPE vocabulary: {} tokens is too many",
               vocabulary.tokens.size());
  ATTEND_CHECK(vocabulary.token_types.empty() || vocabulary.token_types.size() == vocabulary.tokens.size(), ValueError,
               "BPE vocabulary: {} token types for {} tokens", vocabulary.token_types.size(), vocabulary.tokens.size());
  const size_t size = vocabulary.tokens.size();
  check_optional_id(vocabulary.bos_id, "bos_id", size);
  check_optional_id(vocabulary.eos_id, "eos_id", size);
  check_optional_id(vocabulary.unknown_id, "unknown_id", size);
  check_optional_id(vocabulary.padding_id, "padding_id", size);
  ATTEND_CHECK(!vocabulary.add_bos || vocabulary.bos_id, ValueError, "BPE vocabulary: add_bos without a bos_id");
  ATTEND_CHECK(!vocabulary.add_eos || vocabulary.eos_id, ValueError, "BPE vocabulary: add_eos without an eos_id");
}

TokenType type_of(const BpeVocabulary& vocabulary, size_t id) {
  return vocabulary.token_types.empty() ? TokenType::kNormal : static_cast<TokenType>(vocabulary.token_types[id]);
}

}  // namespace

BpeTokenizer::BpeTokenizer(const BpeVocabulary& vocabulary)
    : bos_id_(vocabulary.bos_id),
      eos_id_(vocabulary.eos_id),
      add_bos_(vocabulary.add_bos),
      add_eos_(vocabulary.add_eos),
      pre_tokenizer_(pre_tokenizer_named(vocabulary.pre_tokenizer)) {
  check_vocabulary(vocabulary);
  tokens_ = vocabulary.tokens;
  token_bytes_.reserve(tokens_.size());
  for (size_t id = 0; id < tokens_.size(); ++id) {
    std::optional<std::string> bytes = unspell_bytes(tokens_[id]);
    // A token outside the alphabet is plain text: looked up by its bytes' spelling.
    const std::string spelling = bytes ? tokens_[id] : spell_bytes(tokens_[id]);
    token_bytes_.push_back(bytes ? std::move(*bytes) : tokens_[id]);
    ids_[spelling] = static_cast<int32_t>(id);
  }
  for (int byte = 0; byte < 256; ++byte) {
    const auto found = ids_.find(spell_bytes(std::string(1, static_cast<char>(byte))));
    byte_ids_[byte] = found == ids_.end() ? -1 : found->second;
  }
  add_merges(vocabulary.merges);
  add_added_tokens(vocabulary);
}

void BpeTokenizer::add_merges(const std::vector<std::string>& merges) {
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string& merge = merges[rank];
    const size_t space = merge.find(' ');
    ATTEND_CHECK(space != std::string::npos && merge.find(' ', space + 1) == std::string::npos, ValueError,
                 "BPE vocabulary: merge {} '{}' is not two tokens separated by one space", rank, merge);
    const std::string left = merge.substr(0, space), right = merge.substr(space + 1);
    int32_t pair_ids[3];
    const std::string parts[3] = {left, right, left + right};
    for (int k = 0; k < 3; ++k) {
      const auto found = ids_.find(parts[k]);
      ATTEND_CHECK(found != ids_.end(), ValueError,
                   "BPE vocabulary: merge {} '{}' needs the token '{}', which is not in the vocabulary", rank, merge,
                   parts[k]);
      pair_ids[k] = found->second;
    }
    merges_.add(pair_ids[0], pair_ids[1], pair_ids[2]);
  }
}

void BpeTokenizer::add_added_tokens(const BpeVocabulary& vocabulary) {
  // Control tokens first, then user-defined ones, as transformers adds them.
  for (size_t id = 0; id < tokens_.size(); ++id) {
    const std::string& token = tokens_[id];
    if (type_of(vocabulary, id) == TokenType::kControl && unspell_bytes(token)) {
      added_.add(token, ids_.at(token), /*special=*/true);
    }
  }
  for (size_t id = 0; id < tokens_.size(); ++id) {
    const std::string& token = tokens_[id];
    const auto found = ids_.find(token);
    if (type_of(vocabulary, id) == TokenType::kUserDefined && found != ids_.end()) {
      added_.add(token, found->second, /*special=*/false);
    }
  }
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<int32_t>& ids) const {
  std::vector<int32_t> symbols;
  symbols.reserve(word.size());
  for (const char byte : word) {
    if (const int32_t id = byte_ids_[static_cast<uint8_t>(byte)]; id >= 0) symbols.push_back(id);
  }
  merges_.merge_word(symbols);
  ids.insert(ids.end(), symbols.begin(), symbols.end());
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool parse_special) const {
  std::string repaired;
  if (!is_utf8(text)) {
    repaired = replace_invalid_utf8(text);
    text = repaired;
  }
  std::vector<int32_t> ids;
  if (add_bos_) ids.push_back(*bos_id_);
  for (const TextSegment& segment : added_.split(text, parse_special)) {
    if (segment.added_id >= 0) {
      ids.push_back(segment.added_id);
      continue;
    }
    for (const std::string_view word : split_words(segment.text, pre_tokenizer_)) encode_word(word, ids);
  }
  if (add_eos_) ids.push_back(*eos_id_);
  return ids;
}

void BpeTokenizer::check_id(int32_t id) const {
  ATTEND_CHECK(id >= 0 && id < vocabulary_size(), ValueError, "token id {} is outside the vocabulary of {} tokens", id,
               vocabulary_size());
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string bytes;
  for (const int32_t id : ids) {
    check_id(id);
    if (!(skip_special && is_special(id))) bytes += token_bytes_[id];
  }
  return replace_invalid_utf8(bytes);
}

std::string_view BpeTokenizer::token(int32_t id) const {
  check_id(id);
  return tokens_[id];
}

std::string_view BpeTokenizer::token_bytes(int32_t id) const {
  check_id(id);
  return token_bytes_[id];
}

std::optional<int32_t> BpeTokenizer::id_of(std::string_view spelled_token) const {
  const auto found = ids_.find(std::string(spelled_token));
  if (found == ids_.end()) return std::nullopt;
  return found->second;
}

}  // namespace attend::bpe
