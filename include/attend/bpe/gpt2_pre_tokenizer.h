// GPT-2's pre-tokenizer: text cut into words before byte-pair merging, so that no merge crosses
// a word. Hugging Face `tokenizers` does it with the regular expression of its ByteLevel
// pre-tokenizer (use_regex, the one transformers builds for a GGUF whose tokenizer.ggml.pre is
// "gpt2" or "smollm"):
//
//   's|'t|'re|'ve|'m|'ll|'d | ?\p{L}+ | ?\p{N}+ | ?[^\s\p{L}\p{N}]+ | \s+(?!\S) | \s+
//
// matched again and again from the start of the text. Every code point is in exactly one of four
// classes (letter \p{L}, number \p{N}, white space \s, other), so the expression is a scanner:
//
//   at i: "'" followed by s t re ve m ll d    -> the contraction
//         ' ' followed by a letter/number/other c  -> the space and the run of c's class after it
//         a letter/number/other                 -> the run of its class
//         white space running to j:   j == end  -> all of it
//                                     j - i > 1 -> all but the last (which joins the next word
//                                                  when it is ' ', else stands alone)
//                                     else      -> the one code point
//
// Written by hand rather than with ICU's regex engine: one pass, no backtracking, no allocation
// per match, and the classes are spelled out where they can be checked against `tokenizers`.
// The classes: \s is Unicode's White_Space (25 code points; not U+001C..U+001F, which Python's
// str.isspace counts); \p{L} and \p{N} are the general categories L* and N*, through ICU. Debian's
// ICU 72 has Unicode 15.0; the regex of `tokenizers` 0.23.3 has 16.0, whose 5,004 new letters and
// numbers (29 ranges) src/bpe/newer_unicode.cc lists, so that every code point falls in the same
// class as there (bench/peers/bpe_parity.py --every-code-point checks all 1,112,064).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace attend::bpe {

enum class CharClass : uint8_t { kLetter, kNumber, kWhiteSpace, kOther };

CharClass char_class(char32_t code_point);

// The words of `text` (well-formed UTF-8), in order, as views into it; together they are all of it.
std::vector<std::string_view> split_gpt2_words(std::string_view text);

}  // namespace attend::bpe
