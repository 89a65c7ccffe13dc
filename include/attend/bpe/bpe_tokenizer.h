// The byte-level BPE tokenizer of GPT-2 and the models that took it (SmolLM2, StarCoder, ...),
// giving the ids of Hugging Face `tokenizers` (0.23.3) for a GGUF file whose tokenizer.ggml.model
// is "gpt2": those of the model's own tokenizer.json for the pre-tokenizer the file names
// (gpt2_pre_tokenizer.h: "smollm" splits off every digit), which for "gpt2" are also those of the
// tokenizer transformers 5.25 builds from the file (gguf_tokenizer_mapping: byte_level_tokenizer),
// and for "smollm" are not (transformers gives it GPT-2's). Encoding:
//
//   text   -> U+FFFD for each ill-formed UTF-8 sequence (see encode)
//          -> cut at added tokens, matched whole (added_tokens.h); each is its id
//          -> the rest cut into words (gpt2_pre_tokenizer.h, by the vocabulary's pre_tokenizer)
//          -> each word's bytes -> one token per byte (byte_alphabet.h spells byte b as a token)
//          -> merges by rank (merge_table.h)
//
// and decoding: each id's bytes (its token unspelled; a token outside the byte alphabet stands for
// its own UTF-8), concatenated, with U+FFFD for each ill-formed sequence (utf8_repair.h).
//
// As in transformers and the models' tokenizer.json: control tokens (type 3) spelled in the byte alphabet are special
// added tokens; user-defined ones (type 4) are added tokens that are not special; a token not spelled in the alphabet
// is looked up by its bytes' spelling; of two tokens with one spelling the later id wins. The BPE model transformers
// builds has no unknown token, so a byte with no token of its own is left out of the ids (SmolLM2 has none for 21
// bytes, 0x04, 0x06, 0x13, 0x14, 0x16 and 0x1D among them), and a whole word in the vocabulary that no merge builds is
// never used.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "attend/bpe/added_tokens.h"
#include "attend/bpe/gpt2_pre_tokenizer.h"
#include "attend/bpe/merge_table.h"

namespace attend::bpe {

// llama.cpp's token types (tokenizer.ggml.token_type).
enum class TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

// A vocabulary as a GGUF file states it (tokenizer.ggml.*).
struct BpeVocabulary {
  std::vector<std::string> tokens;     // spelled in the byte alphabet; the index is the id
  std::vector<int32_t> token_types;    // one TokenType per token, or empty: all normal
  std::vector<std::string> merges;     // "left right", by rank (first merges first)
  std::string pre_tokenizer = "gpt2";  // tokenizer.ggml.pre: "gpt2", "default" or "smollm"
  std::optional<int32_t> bos_id, eos_id, unknown_id, padding_id;
  bool add_bos = false;  // tokenizer.ggml.add_bos_token: encode() starts with bos_id
  bool add_eos = false;  // tokenizer.ggml.add_eos_token: encode() ends with eos_id
};

class BpeTokenizer {
 public:
  // Checks the vocabulary and builds the tables; throws ValueError naming the first problem
  // (a merge whose tokens or result are not in the vocabulary, an id out of range, a pre-tokenizer
  // attend does not have, ...).
  explicit BpeTokenizer(const BpeVocabulary& vocabulary);

  // The ids of `text`. Bytes that are not UTF-8 are read as Python's
  // bytes.decode("utf-8", "replace") would read them (one U+FFFD per maximal subpart), as
  // attend's BERT tokenizer does: Hugging Face only ever sees a str. With parse_special false,
  // special tokens in the text are ordinary text (`tokenizers`' encode_special_tokens).
  std::vector<int32_t> encode(std::string_view text, bool parse_special = true) const;

  // The text of `ids`; throws ValueError for an id outside the vocabulary. skip_special leaves
  // the special tokens out.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  int32_t vocabulary_size() const { return static_cast<int32_t>(tokens_.size()); }
  std::string_view token(int32_t id) const;        // as spelled in the vocabulary ("Ġthe")
  std::string_view token_bytes(int32_t id) const;  // the bytes it stands for (" the")
  std::optional<int32_t> id_of(std::string_view spelled_token) const;
  bool is_special(int32_t id) const { return added_.is_special(id); }
  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }

 private:
  void check_id(int32_t id) const;
  void add_merges(const std::vector<std::string>& merges);
  void add_added_tokens(const BpeVocabulary& vocabulary);
  void encode_word(std::string_view word, std::vector<int32_t>& ids) const;

  std::vector<std::string> tokens_;
  std::vector<std::string> token_bytes_;
  std::unordered_map<std::string, int32_t> ids_;  // by spelling
  std::array<int32_t, 256> byte_ids_{};           // the token of each byte alone, or -1
  MergeTable merges_;
  AddedTokens added_;
  std::optional<int32_t> bos_id_, eos_id_;
  bool add_bos_ = false, add_eos_ = false;
  PreTokenizer pre_tokenizer_;
};

}  // namespace attend::bpe
