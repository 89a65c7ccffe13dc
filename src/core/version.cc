#include "attend/core/version.h"

#include <fmt/format.h>

#ifndef ATTEND_VERSION_STRING
#error "ATTEND_VERSION_STRING comes from CMakeLists.txt's project() (src/CMakeLists.txt)"
#endif

namespace attend {

std::string version() { return ATTEND_VERSION_STRING; }

std::string build_options() {
  const std::string sanitizers = ATTEND_SANITIZERS;
  const std::string build_type = ATTEND_BUILD_TYPE;
  return fmt::format("{}, {}, sanitizers: {}", build_type.empty() ? "no build type" : build_type, ATTEND_COMPILER,
                     sanitizers.empty() ? "none" : sanitizers);
}

}  // namespace attend
