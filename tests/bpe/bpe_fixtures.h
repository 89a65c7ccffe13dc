// Small byte-level vocabularies for the bpe tests, and the vocabulary of a JSON file (the one
// bench/peers/bpe_golden.py --vocabulary writes from a GGUF file through transformers' reader).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "attend/bpe/bpe_tokenizer.h"

namespace attend::bpe::testing {

// The 256 byte tokens (id = byte), then one token per merge, each merge given as the two byte
// strings it joins ({" ", "t"} is the merge "Ġ t" making "Ġt"), in rank order.
BpeVocabulary byte_vocabulary(const std::vector<std::pair<std::string, std::string>>& merges = {});

// Appends `token` (already spelled) with `type` and returns its id.
int32_t append_token(BpeVocabulary& vocabulary, const std::string& token, TokenType type = TokenType::kNormal);

// {"tokens": [...], "token_types": [...], "merges": [...], "pre_tokenizer": "smollm",
//  "bos_id": 1, "eos_id": 2, "unknown_id": 0, "padding_id": 2, "add_bos": false, "add_eos": false}
BpeVocabulary load_vocabulary_json(const std::string& path);

}  // namespace attend::bpe::testing
