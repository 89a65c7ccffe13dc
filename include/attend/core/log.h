// Diagnostics on stderr, off by default. ATTEND_LOG=debug turns on debug lines (for example,
// which attention implementation ran and why).
#pragma once

#include <string>

#include <fmt/format.h>

namespace attend {

bool debug_logging_enabled();
void log_line(const std::string& line);

template <typename... Args>
void log_debug(fmt::format_string<Args...> format, Args&&... args) {
  if (debug_logging_enabled()) log_line(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace attend
