// ICU answers for Unicode 15.0; `tokenizers` for older versions (unicode.h says which and why).
#include "attend/text/unicode.h"

#include <array>
#include <cstdint>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include "attend/core/error.h"

namespace attend::text {
namespace {

// Whether Unicode `major`.0 had assigned `c` (u_charAge is 0.0 for unassigned code points).
bool assigned_by(char32_t c, uint8_t major) {
  UVersionInfo age;
  u_charAge(static_cast<UChar32>(c), age);
  return age[0] != 0 && age[0] <= major;
}

// The general category as the Unicode 8.0 tables of unicode_categories 0.1.1 have it.
int8_t category_of_unicode_8(char32_t c) {
  switch (c) {  // the code points whose category changed after 8.0, with their 8.0 category
    case 0x1734:
      return U_NON_SPACING_MARK;  // HANUNOO SIGN PAMUDPOD, Mc since 14.0
    case 0x1885:                  // MONGOLIAN LETTER ALI GALI BALUDA and
    case 0x1886:
      return U_OTHER_LETTER;  //   ... THREE BALUDA, Mn since 9.0
    case 0xA9BD:
      return U_COMBINING_SPACING_MARK;  // JAVANESE CONSONANT SIGN KERET, Mn since 12.0
    case 0x111C9:
      return U_OTHER_PUNCTUATION;  // SHARADA SANDHI MARK, Mn since 9.0
    case 0x166D:
      return U_OTHER_PUNCTUATION;  // CANADIAN SYLLABICS CHI SIGN, So since 12.0
    default:
      break;
  }
  if (c >= 0x80 && !assigned_by(c, 8)) return U_UNASSIGNED;
  return u_charType(static_cast<UChar32>(c));
}

const UNormalizer2* nfd_instance() {
  static const UNormalizer2* instance = [] {
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2* nfd = unorm2_getNFDInstance(&status);
    ATTEND_CHECK(U_SUCCESS(status), Error, "ICU has no NFD data: {}", u_errorName(status));
    return nfd;
  }();
  return instance;
}

// Code points newer than Unicode 9.0 are unknown to unicode-normalization-alignments: they
// neither decompose nor take part in canonical ordering.
bool known_to_normalization(char32_t c) { return c < 0x80 || assigned_by(c, 9); }

uint8_t combining_class(char32_t c) {
  if (c < 0x300 || !known_to_normalization(c)) return 0;
  return u_getCombiningClass(static_cast<UChar32>(c));
}

// Appends the UTF-16 code units in [units, units + length) to `out` as code points.
void append_utf16(const UChar* units, int32_t length, std::u32string& out) {
  for (int32_t i = 0; i < length;) {
    UChar32 c;
    U16_NEXT(units, i, length, c);
    out.push_back(static_cast<char32_t>(c));
  }
}

void append_decomposition(char32_t c, std::u32string& out) {
  if (c < 0xC0 || !known_to_normalization(c)) {  // nothing below U+00C0 decomposes canonically
    out.push_back(c);
    return;
  }
  std::array<UChar, 32> units;  // the longest canonical decomposition has 4 code points
  UErrorCode status = U_ZERO_ERROR;
  const int32_t length = unorm2_getDecomposition(nfd_instance(), static_cast<UChar32>(c), units.data(),
                                                 static_cast<int32_t>(units.size()), &status);
  if (length < 0 || U_FAILURE(status)) {
    out.push_back(c);
    return;
  }
  append_utf16(units.data(), length, out);
}

// Canonical ordering (Unicode 15.0, section 3.11): a stable sort of each run of non-starters
// by combining class; runs are short, so an insertion sort.
void order_combining_marks(std::u32string& text) {
  for (size_t i = 1; i < text.size(); ++i) {
    const uint8_t mark_class = combining_class(text[i]);
    if (mark_class == 0) continue;
    size_t j = i;
    while (j > 0 && combining_class(text[j - 1]) > mark_class) {
      std::swap(text[j - 1], text[j]);
      --j;
    }
  }
}

}  // namespace

std::u32string decode_utf8(std::string_view bytes) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  const int64_t length = static_cast<int64_t>(bytes.size());
  std::u32string out;
  out.reserve(bytes.size());
  for (int64_t i = 0; i < length;) {
    UChar32 c;
    U8_NEXT_OR_FFFD(data, i, length, c);  // advances past the maximal subpart of a bad sequence
    out.push_back(static_cast<char32_t>(c));
  }
  return out;
}

void append_utf8(char32_t code_point, std::string& out) {
  std::array<uint8_t, U8_MAX_LENGTH> units;
  int32_t length = 0;
  U8_APPEND_UNSAFE(units.data(), length, static_cast<UChar32>(code_point));
  out.append(reinterpret_cast<const char*>(units.data()), static_cast<size_t>(length));
}

std::string encode_utf8(std::u32string_view code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (char32_t c : code_points) append_utf8(c, out);
  return out;
}

bool is_white_space(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)); }

bool is_control_format_or_private_use(char32_t c) {
  const int8_t category = category_of_unicode_8(c);
  return category == U_CONTROL_CHAR || category == U_FORMAT_CHAR || category == U_PRIVATE_USE_CHAR;
}

bool is_punctuation(char32_t c) {
  switch (category_of_unicode_8(c)) {
    case U_CONNECTOR_PUNCTUATION:
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
      return true;
    default:
      return false;
  }
}

bool is_nonspacing_mark(char32_t c) { return c >= 0x300 && category_of_unicode_8(c) == U_NON_SPACING_MARK; }

std::u32string canonical_decomposition(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) append_decomposition(c, out);
  order_combining_marks(out);
  return out;
}

void append_lowercase(char32_t c, std::u32string& out) {
  if (c < 0x80) {
    out.push_back(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    return;
  }
  if (!u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_CHANGES_WHEN_LOWERCASED)) {
    out.push_back(c);
    return;
  }
  std::array<UChar, 2> source;
  int32_t source_length = 0;
  U16_APPEND_UNSAFE(source.data(), source_length, static_cast<UChar32>(c));
  std::array<UChar, 8> lower;  // full lower-case mappings have at most 3 code points
  UErrorCode status = U_ZERO_ERROR;
  // The root locale (""): no Turkish or Lithuanian rules; one code point: no final-sigma context.
  const int32_t length =
      u_strToLower(lower.data(), static_cast<int32_t>(lower.size()), source.data(), source_length, "", &status);
  if (U_FAILURE(status)) {
    out.push_back(c);
    return;
  }
  append_utf16(lower.data(), length, out);
}

}  // namespace attend::text
