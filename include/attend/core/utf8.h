// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF): the one
// check every reader and command of attend uses on text from outside.
#pragma once

#include <cstddef>
#include <string_view>

namespace attend {

// The length (1 to 4) of the well-formed UTF-8 sequence that starts at text[i], or 0 when the
// byte there does not start one (or i is past the end).
size_t utf8_sequence_length(std::string_view text, size_t i);

// The offset of the first byte that does not start a well-formed sequence, or npos when all of
// `text` is valid UTF-8.
size_t invalid_utf8_offset(std::string_view text);

inline bool is_utf8(std::string_view text) { return invalid_utf8_offset(text) == std::string_view::npos; }

}  // namespace attend
