// Small byte-level vocabularies and JSON vocabularies for the bpe tests (bpe_fixtures.h).
#include "bpe/bpe_fixtures.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "attend/bpe/byte_alphabet.h"
#include "attend/core/error.h"

namespace attend::bpe::testing {

BpeVocabulary byte_vocabulary(const std::vector<std::pair<std::string, std::string>>& merges) {
  BpeVocabulary vocabulary;
  for (int byte = 0; byte < 256; ++byte) append_token(vocabulary, spell_bytes(std::string(1, char(byte))));
  for (const auto& [left, right] : merges) {
    vocabulary.merges.push_back(spell_bytes(left) + " " + spell_bytes(right));
    append_token(vocabulary, spell_bytes(left + right));
  }
  return vocabulary;
}

int32_t append_token(BpeVocabulary& vocabulary, const std::string& token, TokenType type) {
  vocabulary.tokens.push_back(token);
  vocabulary.token_types.push_back(static_cast<int32_t>(type));
  return static_cast<int32_t>(vocabulary.tokens.size() - 1);
}

namespace {

std::optional<int32_t> optional_id(const nlohmann::json& json, const char* key) {
  if (!json.contains(key) || json[key].is_null()) return std::nullopt;
  return json[key].get<int32_t>();
}

}  // namespace

BpeVocabulary load_vocabulary_json(const std::string& path) {
  std::ifstream file(path);
  ATTEND_CHECK(file.good(), ValueError, "cannot read the vocabulary '{}'", path);
  const nlohmann::json json = nlohmann::json::parse(file);
  BpeVocabulary vocabulary;
  vocabulary.tokens = json.at("tokens").get<std::vector<std::string>>();
  vocabulary.token_types = json.at("token_types").get<std::vector<int32_t>>();
  vocabulary.merges = json.at("merges").get<std::vector<std::string>>();
  vocabulary.pre_tokenizer = json.at("pre_tokenizer").get<std::string>();
  vocabulary.bos_id = optional_id(json, "bos_id");
  vocabulary.eos_id = optional_id(json, "eos_id");
  vocabulary.unknown_id = optional_id(json, "unknown_id");
  vocabulary.padding_id = optional_id(json, "padding_id");
  vocabulary.add_bos = json.value("add_bos", false);
  vocabulary.add_eos = json.value("add_eos", false);
  return vocabulary;
}

}  // namespace attend::bpe::testing
