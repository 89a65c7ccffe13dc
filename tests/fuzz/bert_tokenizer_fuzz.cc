// Fuzz target: the BERT tokenizer (text/bert_tokenizer.h: normalization, pre-tokenization,
// WordPiece, pairs, truncation) on arbitrary bytes, with a cut-down MiniLM vocabulary
// (tests/fuzz/data/vocab.txt). The first byte picks the options:
//   bit 0: lower-case (and strip accents) or not; bit 1: a pair (the input split at its first
//   0xff byte, or in half); bits 2-7: max_length (0: none), with truncation when bit 1 of the
//   second byte is set.
// Invariants: ids are in the vocabulary, one token and one type per id, pieces are not empty, the
// encoding starts with [CLS] and ends with [SEP], and a max_length is obeyed or refused, never
// exceeded.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "attend/text/bert_tokenizer.h"
#include "attend/text/vocabulary.h"
#include "fuzz/fuzz_input.h"

#ifndef ATTEND_FUZZ_DATA_DIR
#error "ATTEND_FUZZ_DATA_DIR must name tests/fuzz/data"
#endif

namespace {

using namespace attend;

const text::BertTokenizer& tokenizer(bool lower_case) {
  auto make = [](bool lower) {
    text::BertTokenizerConfig config;
    config.do_lower_case = lower;
    return text::BertTokenizer(text::load_vocabulary(std::string(ATTEND_FUZZ_DATA_DIR) + "/vocab.txt"), config);
  };
  static const text::BertTokenizer lower = make(true);
  static const text::BertTokenizer cased = make(false);
  return lower_case ? lower : cased;
}

void check(const text::BertTokenizer& bert, const text::Encoding& encoding, const text::EncodeOptions& options) {
  const size_t n = encoding.ids.size();
  ATTEND_FUZZ_REQUIRE(n >= 2 && encoding.tokens.size() == n && encoding.token_type_ids.size() == n &&
                      encoding.attention_mask.size() == n);
  ATTEND_FUZZ_REQUIRE(encoding.ids.front() == bert.vocabulary().id_of("[CLS]"));
  ATTEND_FUZZ_REQUIRE(encoding.ids.back() == bert.vocabulary().id_of("[SEP]"));
  for (size_t i = 0; i < n; ++i) {
    ATTEND_FUZZ_REQUIRE(encoding.ids[i] >= 0 && encoding.ids[i] < bert.vocabulary().size());
    ATTEND_FUZZ_REQUIRE(!encoding.tokens[i].empty());
  }
  ATTEND_FUZZ_REQUIRE(static_cast<int64_t>(n) <= encoding.untruncated_length);
  if (options.max_length) ATTEND_FUZZ_REQUIRE(static_cast<int64_t>(n) <= *options.max_length);
  ATTEND_FUZZ_REQUIRE(encoding.truncated == (static_cast<int64_t>(n) < encoding.untruncated_length));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const text::BertTokenizer& bert = tokenizer((data[0] & 1) != 0);
  const bool pair = (data[0] & 2) != 0;
  text::EncodeOptions options;
  if (data[0] >> 2) options.max_length = data[0] >> 2;
  options.truncate = (data[1] & 2) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  return fuzz::run_reader([&] {
    if (!pair) {
      check(bert, bert.encode(text, options), options);
      return;
    }
    size_t cut = text.find('\xff');
    if (cut == std::string_view::npos) cut = text.size() / 2;
    check(bert, bert.encode_pair(text.substr(0, cut), text.substr(cut), options), options);
  });
}
