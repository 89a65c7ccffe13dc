#include "attend/text/truncation.h"

#include "attend/core/error.h"

namespace attend::text {

KeptLengths longest_first(int64_t first, int64_t second, int64_t budget) {
  ATTEND_CHECK(first >= 0 && second >= 0 && budget >= 0, ValueError,
               "longest_first: lengths ({}, {}) and budget {} must not be negative", first, second, budget);
  if (first + second <= budget) return {first, second};
  const bool first_is_short = first <= second;
  const int64_t shorter = first_is_short ? first : second;
  const int64_t kept_short = 2 * shorter <= budget ? shorter : budget / 2;
  const int64_t kept_long = budget - kept_short;
  return first_is_short ? KeptLengths{kept_short, kept_long} : KeptLengths{kept_long, kept_short};
}

}  // namespace attend::text
