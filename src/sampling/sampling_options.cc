#include "attend/sampling/sampling_options.h"

#include <cmath>

#include "attend/core/error.h"

namespace attend::sampling {

// Every comparison is written so that NaN fails it. Infinities are refused where they would
// turn a finite logit into NaN (a logit of 0 times an infinite penalty, -inf / inf).
void SamplingOptions::validate() const {
  ATTEND_CHECK(std::isfinite(temperature) && temperature >= 0, ValueError,
               "SamplingOptions: temperature must be a finite number >= 0 (0 = greedy), got {}", temperature);
  ATTEND_CHECK(top_k >= 0, ValueError, "SamplingOptions: top_k must be >= 0 (0 = off), got {}", top_k);
  ATTEND_CHECK(top_p > 0 && top_p <= 1, ValueError, "SamplingOptions: top_p must be in (0, 1] (1 = off), got {}",
               top_p);
  ATTEND_CHECK(min_p >= 0 && min_p <= 1, ValueError, "SamplingOptions: min_p must be in [0, 1] (0 = off), got {}",
               min_p);
  ATTEND_CHECK(std::isfinite(repeat_penalty) && repeat_penalty > 0, ValueError,
               "SamplingOptions: repeat_penalty must be a finite number > 0 (1 = off), got {}", repeat_penalty);
  ATTEND_CHECK(std::isfinite(frequency_penalty), ValueError,
               "SamplingOptions: frequency_penalty must be a finite number (0 = off), got {}", frequency_penalty);
  ATTEND_CHECK(std::isfinite(presence_penalty), ValueError,
               "SamplingOptions: presence_penalty must be a finite number (0 = off), got {}", presence_penalty);
  ATTEND_CHECK(penalty_last_n >= 0, ValueError,
               "SamplingOptions: penalty_last_n must be >= 0 (0 = no penalties), got {}", penalty_last_n);
}

}  // namespace attend::sampling
