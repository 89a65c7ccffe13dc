// UTF-8 from bytes that may not be: what decoding ids gives. Hugging Face's ByteLevel decoder
// ends with Rust's String::from_utf8_lossy, which writes one U+FFFD per maximal subpart of an
// ill-formed sequence (Unicode 15.0, section 3.9); attend::text::decode_utf8 follows that rule.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace attend::bpe {

// `bytes` with each ill-formed sequence replaced by U+FFFD (`bytes` itself when well-formed).
std::string replace_invalid_utf8(std::string_view bytes);

// How many bytes at the end of `bytes` (0 to 3) begin a well-formed sequence that is cut short:
// bytes that more bytes could still complete. A stream holds them back.
size_t incomplete_utf8_tail(std::string_view bytes);

}  // namespace attend::bpe
