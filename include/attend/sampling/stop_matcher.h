// Stop strings over streamed text: the decoded pieces of the tokens arrive one by one, and the
// text shown to a user must never include a stop string, nor part of one that later completes.
//
//   pending = held-back text + piece
//   if some stop string occurs in pending: emit pending up to its earliest occurrence; stop
//   else: hold back the longest suffix of pending that is a proper prefix of a stop string
//         (it could still become one) and emit the rest
//
// No stop string can begin in text already emitted: any suffix of it that a stop string starts
// with was held back. Strings are bytes: for UTF-8 pieces and stops, the held-back suffix starts
// at a character boundary, so what is emitted is whole characters.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace attend::sampling {

struct StopStep {
  // The text that is safe to show now.
  std::string emit;
  // Whether a stop string was hit: `emit` ends right before it, and generation should end.
  bool stopped = false;
};

class StopMatcher {
 public:
  // Throws ValueError for an empty stop string (it would match before any text). No stops at all
  // is allowed: every piece is then emitted whole.
  explicit StopMatcher(std::vector<std::string> stops);

  // Feeds the next decoded piece. After a stop, nothing more is emitted.
  StopStep feed(std::string_view piece);
  // The text still held back, once generation ended without a stop (e.g. at a token limit).
  std::string flush();
  bool stopped() const { return stopped_; }

 private:
  // The length of the longest suffix of pending_ that is a proper prefix of a stop string.
  size_t held_back_length() const;

  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace attend::sampling
