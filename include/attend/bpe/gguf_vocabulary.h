// A byte-level BPE vocabulary from a GGUF file's tokenizer metadata (llama.cpp's keys):
//
//   tokenizer.ggml.model            must be "gpt2" (byte-level BPE)
//   tokenizer.ggml.pre              the pre-tokenizer's name ("smollm", "gpt2", ...)
//   tokenizer.ggml.tokens           the tokens, byte-level spelled
//   tokenizer.ggml.token_type       one per token (1 normal, 3 control, 4 user-defined, ...)
//   tokenizer.ggml.merges           "left right", by rank
//   tokenizer.ggml.{bos,eos,unknown,padding}_token_id, add_bos_token, add_eos_token (optional)
#pragma once

#include "attend/bpe/bpe_tokenizer.h"
#include "attend/gguf/gguf_file.h"

namespace attend::bpe {

// Throws gguf::FormatError naming the file when a key is missing, has another type, or the
// model is not byte-level BPE.
BpeVocabulary load_bpe_vocabulary(const gguf::File& file);

}  // namespace attend::bpe
