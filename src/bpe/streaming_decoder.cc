// Decoding ids one at a time (bpe/streaming_decoder.h).
#include "attend/bpe/streaming_decoder.h"

#include "attend/bpe/utf8_repair.h"

namespace attend::bpe {

StreamingDecoder::StreamingDecoder(const BpeTokenizer& tokenizer, bool skip_special)
    : tokenizer_(&tokenizer), skip_special_(skip_special) {}

std::string StreamingDecoder::push(int32_t id) {
  const std::string_view bytes = tokenizer_->token_bytes(id);
  if (skip_special_ && tokenizer_->is_special(id)) return "";
  pending_ += bytes;
  const size_t held = incomplete_utf8_tail(pending_);
  std::string ready = replace_invalid_utf8(std::string_view(pending_).substr(0, pending_.size() - held));
  pending_.erase(0, pending_.size() - held);
  return ready;
}

std::string StreamingDecoder::flush() {
  std::string rest = replace_invalid_utf8(pending_);
  pending_.clear();
  return rest;
}

}  // namespace attend::bpe
