// Test encodings: ids as the tokenizer would give them ([CLS] ... [SEP] chosen by the test), all
// of token type 0, nothing padded.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "attend/text/bert_tokenizer.h"

namespace attend::testing {

inline text::Encoding encoding_of(std::vector<int64_t> ids) {
  text::Encoding e;
  e.token_type_ids.assign(ids.size(), 0);
  e.attention_mask.assign(ids.size(), 1);
  e.ids = std::move(ids);
  return e;
}

}  // namespace attend::testing
