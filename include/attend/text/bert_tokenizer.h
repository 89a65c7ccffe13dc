// The BERT tokenizer (Devlin et al. 2019) with the ids of Hugging Face `tokenizers`' fast
// BertTokenizer on the same vocabulary and configuration:
//
//   text (UTF-8; ill-formed bytes become U+FFFD, unicode.h)
//     -> split at the special tokens written in it ("[CLS]", "[SEP]", "[PAD]", "[UNK]",
//        "[MASK]", matched case-sensitively on the raw text), each kept as its own id
//     -> each other part: normalized (bert_normalizer.h), split into words
//        (bert_pre_tokenizer.h), each word into WordPiece pieces (wordpiece.h)
//     -> [CLS] A [SEP] with token_type_ids 0, or [CLS] A [SEP] B [SEP] with 1 for B [SEP]
//
// A length limit is never applied silently: with `max_length` set, an encoding that would be
// longer is refused (ValueError naming both lengths) unless `truncate` is set too, and then it is
// cut with tokenizers' "longest_first" strategy (truncation.h) and says so (`truncated`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attend/text/bert_normalizer.h"
#include "attend/text/vocabulary.h"
#include "attend/text/wordpiece.h"

namespace attend::text {

// What tokenizer_config.json says, with BERT's defaults for what it leaves out.
struct BertTokenizerConfig {
  bool do_lower_case = true;
  std::optional<bool> strip_accents;  // unset: as do_lower_case
  bool tokenize_chinese_chars = true;
  std::string unknown_token = "[UNK]";
  std::string classifier_token = "[CLS]";
  std::string separator_token = "[SEP]";
  std::string padding_token = "[PAD]";
  std::string mask_token = "[MASK]";        // optional in the vocabulary
  std::optional<int64_t> model_max_length;  // informative: encode() does not apply it
};

// Reads tokenizer_config.json (keys do_lower_case, strip_accents, tokenize_chinese_chars,
// unk_token, cls_token, sep_token, pad_token, mask_token, model_max_length; a token may be a
// string or an object with "content"). Other keys are ignored. ValueError names the file and
// the key on a wrong type.
BertTokenizerConfig load_bert_tokenizer_config(const std::string& path);
// The same from the file's text; `source` names it in messages.
BertTokenizerConfig parse_bert_tokenizer_config(std::string_view text, const std::string& source);

struct EncodeOptions {
  std::optional<int64_t> max_length;  // tokens in all, special tokens included
  bool truncate = false;              // cut to max_length instead of refusing a longer input
};

struct Encoding {
  std::vector<int64_t> ids;
  std::vector<int64_t> token_type_ids;  // 0 for [CLS] A [SEP], 1 for B [SEP]
  std::vector<int64_t> attention_mask;  // all 1: nothing is padded
  std::vector<std::string> tokens;      // the pieces, "##"-prefixed when they continue a word
  bool truncated = false;
  int64_t untruncated_length = 0;  // the tokens there would have been without max_length
};

class BertTokenizer {
 public:
  // Throws ValueError naming the file and every special token the vocabulary lacks.
  BertTokenizer(Vocabulary vocabulary, BertTokenizerConfig config);

  // vocab.txt and tokenizer_config.json of a Hugging Face model directory.
  static BertTokenizer from_directory(const std::string& directory);

  // The pieces of `text`, without [CLS] and [SEP].
  std::vector<std::string> tokenize(std::string_view text) const;

  Encoding encode(std::string_view text, const EncodeOptions& options = {}) const;
  Encoding encode_pair(std::string_view first, std::string_view second, const EncodeOptions& options = {}) const;

  const Vocabulary& vocabulary() const { return wordpiece_.vocabulary(); }
  const BertTokenizerConfig& config() const { return config_; }

 private:
  struct Pieces {
    std::vector<int32_t> ids;
    std::vector<std::string> tokens;
  };
  struct SpecialToken {
    std::string text;
    int32_t id;
  };
  Pieces pieces_of(std::string_view text) const;
  void append_normalized_pieces(std::string_view part, Pieces& pieces) const;
  Encoding assemble(const Pieces& first, const Pieces* second, const EncodeOptions& options) const;

  BertTokenizerConfig config_;
  WordPiece wordpiece_;
  BertNormalizerOptions normalizer_;
  std::vector<SpecialToken> special_tokens_;  // matched in the raw text
  int32_t classifier_id_, separator_id_;
};

// The all-MiniLM-L6-v2 directory, found at run time (io/data_locations.h: ATTEND_MINILM, else
// the data directory scripts/setup fills), or "" when it is in neither.
std::string default_minilm_directory();

}  // namespace attend::text
