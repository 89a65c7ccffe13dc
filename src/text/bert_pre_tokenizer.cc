#include "attend/text/bert_pre_tokenizer.h"

#include "attend/text/unicode.h"

namespace attend::text {

bool is_bert_punctuation(char32_t c) {
  const bool ascii_punctuation =
      (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
  return ascii_punctuation || (c >= 0x80 && is_punctuation(c));
}

std::vector<std::u32string_view> split_words(std::u32string_view text) {
  std::vector<std::u32string_view> words;
  size_t start = 0;  // of the word being read
  for (size_t i = 0; i < text.size(); ++i) {
    const bool space = is_white_space(text[i]);
    if (!space && !is_bert_punctuation(text[i])) continue;
    if (i > start) words.push_back(text.substr(start, i - start));
    if (!space) words.push_back(text.substr(i, 1));
    start = i + 1;
  }
  if (text.size() > start) words.push_back(text.substr(start));
  return words;
}

}  // namespace attend::text
