// The letters and numbers that Unicode assigned in 15.1 and 16.0: the regex of Hugging Face
// `tokenizers` 0.23.3 knows them, Debian's ICU 72 (Unicode 15.0) calls them unassigned. These are
// the only code points where the two disagree on the pre-tokenizer's classes (every code point was
// compared: bench/peers/bpe_parity.py --every-code-point).
#pragma once

#include "attend/bpe/gpt2_pre_tokenizer.h"

namespace attend::bpe {

// The class of a code point that ICU 72 has as unassigned: kLetter or kNumber for the ones
// assigned since, else kOther.
CharClass class_after_unicode_15(char32_t code_point);

// Whether a code point is one of the 13 numbers of Unicode 17.0 that ICU 72 and the regex of
// `tokenizers` 0.23.3 (16.0) have as unassigned and Rust's char::is_numeric, which its Digits
// pre-tokenizer uses, has as numeric (every code point was compared through Digits).
bool numeric_after_unicode_16(char32_t code_point);

}  // namespace attend::bpe
