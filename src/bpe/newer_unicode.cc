// Letters and numbers of Unicode 15.1 and 16.0, and numbers of 17.0 (bpe/newer_unicode.h), as
// ranges taken from the classes `tokenizers` 0.23.3 gives every code point that ICU 72 has as
// unassigned.
#include "bpe/newer_unicode.h"

#include <algorithm>
#include <array>

namespace attend::bpe {
namespace {

struct Range {
  char32_t first, last;
  CharClass char_class;
};

constexpr CharClass L = CharClass::kLetter, N = CharClass::kNumber;

// Sorted, disjoint.
constexpr std::array<Range, 29> kNewerRanges = {{
    {0x1C89, 0x1C8A, L},   {0xA7CB, 0xA7CD, L},   {0xA7DA, 0xA7DC, L},   {0x105C0, 0x105F3, L}, {0x10D40, 0x10D49, N},
    {0x10D4A, 0x10D65, L}, {0x10D6F, 0x10D85, L}, {0x10EC2, 0x10EC4, L}, {0x11380, 0x11389, L}, {0x1138B, 0x1138B, L},
    {0x1138E, 0x1138E, L}, {0x11390, 0x113B5, L}, {0x113B7, 0x113B7, L}, {0x113D1, 0x113D1, L}, {0x113D3, 0x113D3, L},
    {0x116D0, 0x116E3, N}, {0x11BC0, 0x11BE0, L}, {0x11BF0, 0x11BF9, N}, {0x13460, 0x143FA, L}, {0x16100, 0x1611D, L},
    {0x16130, 0x16139, N}, {0x16D40, 0x16D6C, L}, {0x16D70, 0x16D79, N}, {0x18CFF, 0x18CFF, L}, {0x1CCF0, 0x1CCF9, N},
    {0x1E5D0, 0x1E5ED, L}, {0x1E5F0, 0x1E5F0, L}, {0x1E5F1, 0x1E5FA, N}, {0x2EBF0, 0x2EE5D, L},
}};

// Unicode 17.0: ten digits (U+11DE0..U+11DE9) and three numbers in Ideographic Symbols and
// Punctuation (U+16FF4..U+16FF6).
constexpr std::array<Range, 2> kUnicode17Numbers = {{{0x11DE0, 0x11DE9, N}, {0x16FF4, 0x16FF6, N}}};

}  // namespace

CharClass class_after_unicode_15(char32_t code_point) {
  const auto after = std::upper_bound(kNewerRanges.begin(), kNewerRanges.end(), code_point,
                                      [](char32_t c, const Range& range) { return c < range.first; });
  if (after == kNewerRanges.begin()) return CharClass::kOther;
  const Range& range = *(after - 1);
  return code_point <= range.last ? range.char_class : CharClass::kOther;
}

bool numeric_after_unicode_16(char32_t code_point) {
  return std::any_of(kUnicode17Numbers.begin(), kUnicode17Numbers.end(),
                     [&](const Range& range) { return code_point >= range.first && code_point <= range.last; });
}

}  // namespace attend::bpe
