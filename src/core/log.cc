#include "attend/core/log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace attend {

bool debug_logging_enabled() {
  static const bool enabled = [] {
    const char* level = std::getenv("ATTEND_LOG");
    return level != nullptr && std::strcmp(level, "debug") == 0;
  }();
  return enabled;
}

void log_line(const std::string& line) { std::fprintf(stderr, "[attend] %s\n", line.c_str()); }

}  // namespace attend
