#include "attend/text/bert_tokenizer.h"

#include <algorithm>
#include <filesystem>

#include "attend/core/error.h"
#include "attend/io/data_locations.h"
#include "attend/text/bert_pre_tokenizer.h"
#include "attend/text/truncation.h"
#include "attend/text/unicode.h"

namespace attend::text {
namespace {

namespace fs = std::filesystem;

// `vocabulary`, once it is known to hold every special token that `config` names.
Vocabulary with_special_tokens(Vocabulary vocabulary, const BertTokenizerConfig& config) {
  std::string missing;
  for (const std::string* token :
       {&config.unknown_token, &config.classifier_token, &config.separator_token, &config.padding_token}) {
    if (!vocabulary.find(*token)) missing += fmt::format("{}'{}'", missing.empty() ? "" : ", ", *token);
  }
  ATTEND_CHECK(missing.empty(), ValueError, "{} lacks the special token(s) {} that a BERT tokenizer needs",
               vocabulary.source(), missing);
  return vocabulary;
}

std::string required_file(const std::string& directory, const std::string& name) {
  ATTEND_CHECK(fs::is_directory(directory), ValueError,
               "the model directory '{}' does not exist (scripts/setup installs all-MiniLM-L6-v2; or pass "
               "--model DIR)",
               directory);
  const fs::path path = fs::path(directory) / name;
  ATTEND_CHECK(fs::is_regular_file(path), ValueError,
               "'{}' does not exist: a BERT tokenizer needs vocab.txt and tokenizer_config.json in its directory",
               path.string());
  return path.string();
}

// The lengths of the two sequences that stay under options.max_length (all of them without
// one); sets encoding.truncated and untruncated_length.
KeptLengths fit_to_max_length(int64_t first_length, int64_t second_length, bool pair, const EncodeOptions& options,
                              Encoding& encoding) {
  const int64_t special_count = pair ? 3 : 2;
  encoding.untruncated_length = first_length + second_length + special_count;
  ATTEND_CHECK(options.max_length.has_value() || !options.truncate, ValueError,
               "truncate needs a max_length to truncate to");
  if (!options.max_length.has_value()) return {first_length, second_length};
  const int64_t max_length = *options.max_length;
  ATTEND_CHECK(max_length >= special_count, ValueError,
               "max_length {} leaves no room for the {} special tokens of {} (at least {})", max_length, special_count,
               pair ? "[CLS] A [SEP] B [SEP]" : "[CLS] A [SEP]", special_count);
  if (encoding.untruncated_length <= max_length) return {first_length, second_length};
  ATTEND_CHECK(options.truncate, ValueError,
               "the input is {} tokens long with its special tokens, more than max_length {}; ask for truncation "
               "(truncate, --truncate) to cut it",
               encoding.untruncated_length, max_length);
  encoding.truncated = true;
  return longest_first(first_length, second_length, max_length - special_count);
}

}  // namespace

BertTokenizer::BertTokenizer(Vocabulary vocabulary, BertTokenizerConfig config)
    : config_(std::move(config)),
      wordpiece_(with_special_tokens(std::move(vocabulary), config_), WordPieceOptions{config_.unknown_token}) {
  normalizer_.strip_accents = config_.strip_accents;
  normalizer_.lowercase = config_.do_lower_case;
  normalizer_.handle_chinese_chars = config_.tokenize_chinese_chars;
  classifier_id_ = wordpiece_.vocabulary().id_of(config_.classifier_token);
  separator_id_ = wordpiece_.vocabulary().id_of(config_.separator_token);
  for (const std::string* token : {&config_.padding_token, &config_.unknown_token, &config_.classifier_token,
                                   &config_.separator_token, &config_.mask_token}) {
    if (const auto id = wordpiece_.vocabulary().find(*token)) special_tokens_.push_back({*token, *id});
  }
}

BertTokenizer BertTokenizer::from_directory(const std::string& directory) {
  const std::string vocabulary_path = required_file(directory, "vocab.txt");
  const std::string config_path = required_file(directory, "tokenizer_config.json");
  return BertTokenizer(load_vocabulary(vocabulary_path), load_bert_tokenizer_config(config_path));
}

void BertTokenizer::append_normalized_pieces(std::string_view part, Pieces& pieces) const {
  const std::u32string normalized = normalize_bert(decode_utf8(part), normalizer_);
  for (const std::u32string_view word : split_words(normalized)) wordpiece_.tokenize(word, pieces.ids, &pieces.tokens);
}

// Leftmost-longest matches of the special tokens, as tokenizers' added vocabulary finds them.
BertTokenizer::Pieces BertTokenizer::pieces_of(std::string_view text) const {
  Pieces pieces;
  size_t part_start = 0;
  for (size_t i = 0; i < text.size();) {
    const SpecialToken* match = nullptr;
    for (const SpecialToken& special : special_tokens_) {
      if (text.substr(i).starts_with(special.text) && (match == nullptr || special.text.size() > match->text.size())) {
        match = &special;
      }
    }
    if (match == nullptr) {
      ++i;
      continue;
    }
    append_normalized_pieces(text.substr(part_start, i - part_start), pieces);
    pieces.ids.push_back(match->id);
    pieces.tokens.push_back(match->text);
    i += match->text.size();
    part_start = i;
  }
  append_normalized_pieces(text.substr(part_start), pieces);
  return pieces;
}

std::vector<std::string> BertTokenizer::tokenize(std::string_view text) const { return pieces_of(text).tokens; }

Encoding BertTokenizer::assemble(const Pieces& first, const Pieces* second, const EncodeOptions& options) const {
  Encoding encoding;
  const KeptLengths kept = fit_to_max_length(static_cast<int64_t>(first.ids.size()),
                                             second != nullptr ? static_cast<int64_t>(second->ids.size()) : 0,
                                             second != nullptr, options, encoding);
  const auto append = [&](int32_t id, const std::string& token, int64_t type) {
    encoding.ids.push_back(id);
    encoding.tokens.push_back(token);
    encoding.token_type_ids.push_back(type);
  };
  append(classifier_id_, config_.classifier_token, 0);
  for (int64_t i = 0; i < kept.first; ++i) append(first.ids[i], first.tokens[i], 0);
  append(separator_id_, config_.separator_token, 0);
  if (second != nullptr) {
    for (int64_t i = 0; i < kept.second; ++i) append(second->ids[i], second->tokens[i], 1);
    append(separator_id_, config_.separator_token, 1);
  }
  encoding.attention_mask.assign(encoding.ids.size(), 1);
  return encoding;
}

Encoding BertTokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  return assemble(pieces_of(text), nullptr, options);
}

Encoding BertTokenizer::encode_pair(std::string_view first, std::string_view second,
                                    const EncodeOptions& options) const {
  const Pieces second_pieces = pieces_of(second);
  return assemble(pieces_of(first), &second_pieces, options);
}

std::string default_minilm_directory() { return io::located_path_or_empty(io::DataSet::kMiniLm); }

}  // namespace attend::text
