// Numbers in a checkpoint's metadata (io/metadata_numbers.h).
#include "attend/io/metadata_numbers.h"

#include <charconv>
#include <cmath>

#include "attend/core/error.h"

namespace attend::io {

namespace {

const std::string& metadata_text(const Metadata& metadata, const std::string& key, const std::string& source) {
  const auto found = metadata.find(key);
  ATTEND_CHECK(found != metadata.end(), ValueError, "'{}' has no '{}' in its metadata", source, key);
  return found->second;
}

// True when all of `text` is one number (std::from_chars: no leading space or '+').
template <typename N>
bool parse_whole(const std::string& text, N* value) {
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, *value);
  return !text.empty() && error == std::errc() && stop == end;
}

}  // namespace

int64_t metadata_integer(const Metadata& metadata, const std::string& key, int64_t min, int64_t max,
                         const std::string& source) {
  const std::string& text = metadata_text(metadata, key, source);
  int64_t value = 0;
  ATTEND_CHECK(parse_whole(text, &value) && value >= min && value <= max, ValueError,
               "'{}': metadata '{}' = '{}' is not an integer in [{}, {}]", source, key, text, min, max);
  return value;
}

double metadata_real(const Metadata& metadata, const std::string& key, double min, double max,
                     const std::string& source) {
  const std::string& text = metadata_text(metadata, key, source);
  double value = NAN;
  ATTEND_CHECK(parse_whole(text, &value) && std::isfinite(value) && value >= min && value <= max, ValueError,
               "'{}': metadata '{}' = '{}' is not a number in [{}, {}]", source, key, text, min, max);
  return value;
}

}  // namespace attend::io
