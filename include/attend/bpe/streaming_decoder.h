// Decoding ids one at a time, as a model generates them, without ever writing half a character:
// a token may end inside a UTF-8 sequence (an emoji is often two or three byte tokens), so the
// decoder holds back the cut-short sequence at the end of what it has (at most 3 bytes) until
// the next ids complete it. Everything before is written, with U+FFFD for ill-formed bytes, so
// the pieces of push() and flush() together are exactly decode() of all the ids.
#pragma once

#include <cstdint>
#include <string>

#include "attend/bpe/bpe_tokenizer.h"

namespace attend::bpe {

class StreamingDecoder {
 public:
  // Keeps a reference to `tokenizer`, which must outlive the decoder.
  explicit StreamingDecoder(const BpeTokenizer& tokenizer, bool skip_special = false);

  // The text that id completes (possibly empty); throws ValueError for an id outside the
  // vocabulary, and then holds what it held before.
  std::string push(int32_t id);

  // The rest: a sequence still cut short becomes U+FFFD. The decoder is then empty.
  std::string flush();

 private:
  const BpeTokenizer* tokenizer_;
  bool skip_special_;
  std::string pending_;  // bytes of a cut-short UTF-8 sequence
};

}  // namespace attend::bpe
