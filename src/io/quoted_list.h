// Names for an error message, quoted, the first ten of them: a file of 40,000 unexpected tensors
// must not make a message of 40,000 names.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace attend::io {

inline std::string quoted_list(const std::vector<std::string>& names) {
  constexpr size_t kShown = 10;
  std::vector<std::string> quoted;
  for (size_t i = 0; i < std::min(names.size(), kShown); ++i) quoted.push_back("'" + names[i] + "'");
  if (names.size() > kShown) quoted.push_back(fmt::format("and {} more", names.size() - kShown));
  return fmt::format("{}", fmt::join(quoted, ", "));
}

}  // namespace attend::io
