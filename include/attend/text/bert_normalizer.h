// BERT's text normalization, step by step, as Hugging Face `tokenizers` applies it
// (normalizers::BertNormalizer; the original is BasicTokenizer in google-research/bert):
//
//   clean_text            drop U+0000, U+FFFD and control, format and private-use characters
//                         (Cc, Cf, Co; tab, newline and carriage return are kept as spaces);
//                         every White_Space character becomes ' '
//   pad_chinese_characters  ' ' before and after each CJK ideograph (the CJK Unified
//                         Ideographs blocks and extensions A-E, and the compatibility blocks;
//                         not kana, not Hangul), so that each is a word of its own
//   strip_accents         NFD, then drop non-spacing marks (Mn): "Café" -> "Cafe"
//   lowercase             each code point's full lower-case mapping: "İ" -> "i̇"
//
// in that order: accents are stripped before lower-casing, so "İ" gives "i" when both are on.
// Character classes are those of unicode.h.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace attend::text {

struct BertNormalizerOptions {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  std::optional<bool> strip_accents;  // unset: the same as `lowercase` (BERT's rule)
  bool lowercase = true;
};

std::u32string clean_text(std::u32string_view text);
std::u32string pad_chinese_characters(std::u32string_view text);
std::u32string strip_accents(std::u32string_view text);
std::u32string lowercase(std::u32string_view text);

// The ideograph ranges that BERT treats as Chinese (tokenizers' is_chinese_char).
bool is_chinese_character(char32_t c);

// Every step that `options` turns on, in the order above.
std::u32string normalize_bert(std::u32string_view text, const BertNormalizerOptions& options);

}  // namespace attend::text
