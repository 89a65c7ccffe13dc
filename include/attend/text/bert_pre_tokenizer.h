// BERT's pre-tokenization (tokenizers' BertPreTokenizer): the normalized text is split at
// White_Space characters, which are dropped, and every punctuation character becomes a word of
// its own: the ASCII punctuation !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~ (which includes symbols such
// as $ + < = > ^ ` | ~) and every character of a P* category (unicode.h).
#pragma once

#include <string_view>
#include <vector>

namespace attend::text {

// Rust's char::is_ascii_punctuation, or a P* category.
bool is_bert_punctuation(char32_t c);

// The words of `text`, as views into it, in order; none is empty.
std::vector<std::u32string_view> split_words(std::u32string_view text);

}  // namespace attend::text
