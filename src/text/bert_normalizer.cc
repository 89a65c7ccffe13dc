#include "attend/text/bert_normalizer.h"

#include "attend/text/unicode.h"

namespace attend::text {
namespace {

bool is_kept_control(char32_t c) { return c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::u32string clean_text(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (c == 0 || c == 0xFFFD || (!is_kept_control(c) && is_control_format_or_private_use(c))) continue;
    out.push_back(is_kept_control(c) || is_white_space(c) ? U' ' : c);
  }
  return out;
}

bool is_chinese_character(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) ||    // CJK Unified Ideographs
         (c >= 0x3400 && c <= 0x4DBF) ||    // extension A
         (c >= 0x20000 && c <= 0x2A6DF) ||  // extension B
         (c >= 0x2A700 && c <= 0x2B73F) ||  // extension C
         (c >= 0x2B740 && c <= 0x2B81F) ||  // extension D
         (c >= 0x2B920 && c <= 0x2CEAF) ||  // extension E (from 2B920, as tokenizers has it)
         (c >= 0xF900 && c <= 0xFAFF) ||    // CJK Compatibility Ideographs
         (c >= 0x2F800 && c <= 0x2FA1F);    // CJK Compatibility Ideographs Supplement
}

std::u32string pad_chinese_characters(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (is_chinese_character(c)) {
      out.push_back(U' ');
      out.push_back(c);
      out.push_back(U' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::u32string strip_accents(std::u32string_view text) {
  std::u32string decomposed = canonical_decomposition(text);
  std::erase_if(decomposed, is_nonspacing_mark);
  return decomposed;
}

std::u32string lowercase(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) append_lowercase(c, out);
  return out;
}

std::u32string normalize_bert(std::u32string_view text, const BertNormalizerOptions& options) {
  std::u32string out(text);
  if (options.clean_text) out = clean_text(out);
  if (options.handle_chinese_chars) out = pad_chinese_characters(out);
  if (options.strip_accents.value_or(options.lowercase)) out = strip_accents(out);
  if (options.lowercase) out = lowercase(out);
  return out;
}

}  // namespace attend::text
