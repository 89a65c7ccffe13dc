// GPT-2's pre-tokenizer as a scanner over code points, and SmolLM2's numbers split off before it
// (bpe/gpt2_pre_tokenizer.h).
#include "attend/bpe/gpt2_pre_tokenizer.h"

#include <algorithm>
#include <array>

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include "attend/core/error.h"
#include "bpe/newer_unicode.h"

namespace attend::bpe {
namespace {

CharClass ascii_class(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return CharClass::kLetter;
  if (c >= '0' && c <= '9') return CharClass::kNumber;
  if (c == ' ' || (c >= '\t' && c <= '\r')) return CharClass::kWhiteSpace;
  return CharClass::kOther;
}

struct CodePoint {
  size_t offset;  // of its first byte in the text
  CharClass char_class;
  bool numeric;  // is_numeric: a word of its own for kSmolLM
};

// The code points of `text` with their classes; a sentinel at the end holds text.size().
std::vector<CodePoint> classify(std::string_view text) {
  std::vector<CodePoint> code_points;
  code_points.reserve(text.size() + 1);
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const auto length = static_cast<int32_t>(text.size());
  for (int32_t i = 0; i < length;) {
    const size_t offset = i;
    if (bytes[i] < 0x80) {
      const CharClass ascii = ascii_class(text[i]);
      code_points.push_back({offset, ascii, ascii == CharClass::kNumber});
      ++i;
      continue;
    }
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    const CharClass non_ascii = char_class(static_cast<char32_t>(c));
    const bool numeric = non_ascii == CharClass::kNumber || numeric_after_unicode_16(static_cast<char32_t>(c));
    code_points.push_back({offset, non_ascii, numeric});
  }
  code_points.push_back({text.size(), CharClass::kOther, false});
  return code_points;
}

constexpr std::array<std::string_view, 7> kContractions = {"s", "t", "re", "ve", "m", "ll", "d"};

// The length in bytes (all ASCII) of the contraction at `offset`, or 0.
size_t contraction_length(std::string_view text, size_t offset) {
  if (text[offset] != '\'') return 0;
  const std::string_view rest = text.substr(offset + 1);
  for (const std::string_view suffix : kContractions) {
    if (rest.starts_with(suffix)) return 1 + suffix.size();
  }
  return 0;
}

// The index after the run of code points of class `run_class` that starts at `i`.
size_t end_of_run(const std::vector<CodePoint>& code_points, size_t count, size_t i, CharClass run_class) {
  while (i < count && code_points[i].char_class == run_class) ++i;
  return i;
}

// The index of the code point after the word that starts at code point `i`, the scanner reading
// the code points before `count` as all the text there is.
size_t end_of_word(std::string_view text, const std::vector<CodePoint>& code_points, size_t count, size_t i) {
  if (const size_t length = contraction_length(text, code_points[i].offset)) return i + length;
  const bool space = text[code_points[i].offset] == ' ';
  if (space && i + 1 < count && code_points[i + 1].char_class != CharClass::kWhiteSpace) {
    return end_of_run(code_points, count, i + 1, code_points[i + 1].char_class);
  }
  if (code_points[i].char_class != CharClass::kWhiteSpace) {
    return end_of_run(code_points, count, i, code_points[i].char_class);
  }
  const size_t end = end_of_run(code_points, count, i, CharClass::kWhiteSpace);
  if (end == count || end - i == 1) return end;  // \s+(?!\S) to the end, or \s+ of one
  return end - 1;                                // \s+(?!\S) leaves the last one to the next word
}

}  // namespace

CharClass char_class(char32_t code_point) {
  if (code_point < 0x80) return ascii_class(static_cast<char>(code_point));
  const auto c = static_cast<UChar32>(code_point);
  if (u_hasBinaryProperty(c, UCHAR_WHITE_SPACE)) return CharClass::kWhiteSpace;
  const uint32_t category = U_GET_GC_MASK(c);
  if (category & U_GC_L_MASK) return CharClass::kLetter;
  if (category & U_GC_N_MASK) return CharClass::kNumber;
  if (category & U_GC_CN_MASK) return class_after_unicode_15(code_point);
  return CharClass::kOther;
}

bool is_numeric(char32_t code_point) {
  return char_class(code_point) == CharClass::kNumber || numeric_after_unicode_16(code_point);
}

PreTokenizer pre_tokenizer_named(const std::string& name) {
  if (name == "gpt2" || name == "default") return PreTokenizer::kGpt2;
  if (name == "smollm") return PreTokenizer::kSmolLM;
  fail<ValueError>("BPE vocabulary: the pre-tokenizer '{}' is not implemented (attend has gpt2, default and smollm)",
                   name);
}

std::vector<std::string_view> split_words(std::string_view text, PreTokenizer pre_tokenizer) {
  const std::vector<CodePoint> code_points = classify(text);
  const size_t count = code_points.size() - 1;
  const auto word = [&](size_t begin, size_t end) {
    return text.substr(code_points[begin].offset, code_points[end].offset - code_points[begin].offset);
  };
  std::vector<std::string_view> words;
  for (size_t stretch = 0; stretch < count;) {
    size_t stretch_end = count;
    if (pre_tokenizer == PreTokenizer::kSmolLM) {
      if (code_points[stretch].numeric) {
        words.push_back(word(stretch, stretch + 1));
        ++stretch;
        continue;
      }
      stretch_end = std::find_if(code_points.begin() + stretch, code_points.begin() + count,
                                 [](const CodePoint& c) { return c.numeric; }) -
                    code_points.begin();
    }
    for (size_t i = stretch; i < stretch_end;) {
      const size_t end = end_of_word(text, code_points, stretch_end, i);
      words.push_back(word(i, end));
      i = end;
    }
    stretch = stretch_end;
  }
  return words;
}

}  // namespace attend::bpe
