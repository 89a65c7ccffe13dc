// GPT-2's pre-tokenizer: text cut into words before byte-pair merging, so that no merge crosses
// a word. Hugging Face `tokenizers` does it with the regular expression of its ByteLevel
// pre-tokenizer (use_regex):
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
//
// Two pre-tokenizers use the scanner, named as GGUF files name them (tokenizer.ggml.pre):
//
//   "gpt2", "default"  the scanner alone.
//   "smollm"           SmolLM2's, as its own tokenizer.json has it (the one the model was trained
//                      with) and as llama.cpp has it: Sequence[Digits(individual_digits=True),
//                      ByteLevel(use_regex=True)]. Every numeric code point is a word of its own,
//                      and the scanner cuts each stretch between them, on its own: "a  12" is
//                      "a", "  ", "1", "2" where the scanner alone gives "a", " ", " 12".
//
// Hugging Face transformers (5.25) ignores "smollm" when it builds a tokenizer from a GGUF file and
// gives it the scanner alone; the ids part from the trained tokenizer's where white space runs
// into a digit (2,351 of the 1,175,173 texts of bench/peers/bpe_parity.py --every-code-point).
// attend follows the trained tokenizer; "gpt2" gives transformers' ids (0 mismatches on the same
// texts).
//
// Digits' "numeric" is Rust's char::is_numeric: the general categories Nd, Nl and No, of the
// Unicode of the Rust that built `tokenizers` 0.23.3, 17.0; the regex's \p{N} is of 16.0. The
// numbers between, 13 of them (newer_unicode.cc), are words of their own here too.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attend::bpe {

enum class CharClass : uint8_t { kLetter, kNumber, kWhiteSpace, kOther };

CharClass char_class(char32_t code_point);

// A numeric code point for Digits (Unicode 17.0's Nd, Nl, No).
bool is_numeric(char32_t code_point);

enum class PreTokenizer : uint8_t {
  kGpt2,    // the scanner alone
  kSmolLM,  // every numeric code point a word, then the scanner on the stretches between
};

// The pre-tokenizer a GGUF file names: "gpt2" and "default" -> kGpt2, "smollm" -> kSmolLM; throws
// ValueError for another name.
PreTokenizer pre_tokenizer_named(const std::string& name);

// The words of `text` (well-formed UTF-8), in order, as views into it; together they are all of it.
std::vector<std::string_view> split_words(std::string_view text, PreTokenizer pre_tokenizer);

inline std::vector<std::string_view> split_gpt2_words(std::string_view text) {
  return split_words(text, PreTokenizer::kGpt2);
}

}  // namespace attend::bpe
