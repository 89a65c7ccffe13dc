#include "attend/bpe/gguf_vocabulary.h"

#include <limits>

namespace attend::bpe {
namespace {

std::optional<int32_t> optional_id(const gguf::File& file, std::string_view key) {
  if (file.find(key) == nullptr) return std::nullopt;
  const int64_t id = file.integer(key);
  if (id < 0 || id > std::numeric_limits<int32_t>::max()) {
    fail<gguf::FormatError>("'{}': {} = {} is not a token id", file.path(), key, id);
  }
  return static_cast<int32_t>(id);
}

bool optional_flag(const gguf::File& file, std::string_view key) {
  return file.find(key) != nullptr && file.boolean(key);
}

}  // namespace

BpeVocabulary load_bpe_vocabulary(const gguf::File& file) {
  const std::string& model = file.string("tokenizer.ggml.model");
  if (model != "gpt2") {
    fail<gguf::FormatError>("'{}': tokenizer.ggml.model is '{}'; attend reads byte-level BPE ('gpt2') tokenizers",
                            file.path(), model);
  }
  BpeVocabulary vocabulary;
  vocabulary.tokens = file.strings("tokenizer.ggml.tokens");
  for (const int64_t type : file.integers("tokenizer.ggml.token_type")) {
    if (type < std::numeric_limits<int32_t>::min() || type > std::numeric_limits<int32_t>::max()) {
      fail<gguf::FormatError>("'{}': a token type {} is out of range", file.path(), type);
    }
    vocabulary.token_types.push_back(static_cast<int32_t>(type));
  }
  vocabulary.merges = file.strings("tokenizer.ggml.merges");
  vocabulary.pre_tokenizer = file.find("tokenizer.ggml.pre") != nullptr ? file.string("tokenizer.ggml.pre") : "default";
  vocabulary.bos_id = optional_id(file, "tokenizer.ggml.bos_token_id");
  vocabulary.eos_id = optional_id(file, "tokenizer.ggml.eos_token_id");
  vocabulary.unknown_id = optional_id(file, "tokenizer.ggml.unknown_token_id");
  vocabulary.padding_id = optional_id(file, "tokenizer.ggml.padding_token_id");
  vocabulary.add_bos = optional_flag(file, "tokenizer.ggml.add_bos_token");
  vocabulary.add_eos = optional_flag(file, "tokenizer.ggml.add_eos_token");
  return vocabulary;
}

}  // namespace attend::bpe
