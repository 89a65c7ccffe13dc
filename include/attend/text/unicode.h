// Code points as the BERT tokenizer of Hugging Face `tokenizers` sees them: a thin layer over
// ICU (Debian's libicu, Unicode 15.0 in ICU 72).
//
// `tokenizers` takes its character classes from two frozen crates and one moving one:
// - general categories (control, format, private use, punctuation, non-spacing mark) from the
//   crate unicode_categories 0.1.1, whose tables are Unicode 8.0;
// - canonical decomposition (NFD) from unicode-normalization-alignments 0.1.12: Unicode 9.0;
// - White_Space and lower-case mapping from Rust's standard library (Unicode 17.0 in the
//   tokenizers 0.23 wheel).
// To give the same ids, the category queries below answer as Unicode 8.0 did: a code point that
// 8.0 had not assigned is unassigned to them (ICU's u_charAge tells), and the six code points
// whose category changed since 8.0 keep their 8.0 category. NFD leaves code points newer than 9.0
// alone. Every code point gives the ids of `tokenizers` (bench/peers/tokenizer_parity.py
// --every-code-point); the one difference left is the lower case of the 55 cased letters
// assigned after Unicode 15.0, which ICU 72 does not know: no form of them is in a BERT
// vocabulary, so both sides give [UNK] (docs/text.md).
#pragma once

#include <string>
#include <string_view>

namespace attend::text {

// Decodes UTF-8. Each ill-formed sequence becomes one U+FFFD per maximal subpart (Unicode 15.0,
// section 3.9, U+FFFD substitution of maximal subparts): the rule of Python's
// bytes.decode("utf-8", "replace") and of Rust's String::from_utf8_lossy, so bytes that Python
// could not hand to `tokenizers` as a str are read the way the Python side reads them.
std::u32string decode_utf8(std::string_view bytes);

// Appends the UTF-8 bytes of `code_point` (a Unicode scalar value) to `out`.
void append_utf8(char32_t code_point, std::string& out);
std::string encode_utf8(std::u32string_view code_points);

// Unicode's White_Space property (Rust's char::is_whitespace).
bool is_white_space(char32_t c);

// General category Cc, Cf or Co, as of Unicode 8.0 (unicode_categories' is_other).
bool is_control_format_or_private_use(char32_t c);

// General category P* (Pc, Pd, Ps, Pe, Pi, Pf, Po), as of Unicode 8.0.
bool is_punctuation(char32_t c);

// General category Mn, as of Unicode 8.0.
bool is_nonspacing_mark(char32_t c);

// The canonical decomposition (NFD) of `text`: every code point assigned by Unicode 9.0
// decomposed, then each run of combining marks put in canonical order (stable, by combining
// class).
std::u32string canonical_decomposition(std::u32string_view text);

// Appends the full lower-case mapping of one code point (U+0130 gives "i" U+0307), without
// context: a final capital sigma becomes U+03C3 like any other, as Rust's char::to_lowercase does.
void append_lowercase(char32_t c, std::u32string& out);

}  // namespace attend::text
