#include "attend/sampling/stop_matcher.h"

#include <algorithm>

#include "attend/core/error.h"

namespace attend::sampling {

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  for (size_t i = 0; i < stops_.size(); ++i) {
    ATTEND_CHECK(!stops_[i].empty(), ValueError,
                 "StopMatcher: stop string {} is empty; it would stop generation before any text", i);
  }
}

size_t StopMatcher::held_back_length() const {
  const std::string_view pending = pending_;
  size_t longest = 0;
  for (const std::string& stop : stops_) {
    for (size_t length = std::min(stop.size() - 1, pending.size()); length > longest; --length) {
      if (pending.ends_with(std::string_view(stop).substr(0, length))) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}

StopStep StopMatcher::feed(std::string_view piece) {
  if (stopped_) return {"", true};
  pending_ += piece;
  size_t earliest = std::string::npos;
  for (const std::string& stop : stops_) earliest = std::min(earliest, pending_.find(stop));
  if (earliest != std::string::npos) {
    stopped_ = true;
    StopStep step{pending_.substr(0, earliest), true};
    pending_.clear();
    return step;
  }
  const size_t emitted = pending_.size() - held_back_length();
  StopStep step{pending_.substr(0, emitted), false};
  pending_.erase(0, emitted);
  return step;
}

std::string StopMatcher::flush() {
  std::string rest = std::move(pending_);
  pending_.clear();
  return rest;
}

}  // namespace attend::sampling
