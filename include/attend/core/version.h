// The library's version and how it was built. The version is written in one place, the project()
// line of CMakeLists.txt; the CMake package, attend.pc, the Python package and `attend info` all
// read it from there.
#pragma once

#include <string>

namespace attend {

// "MAJOR.MINOR.PATCH", e.g. "0.1.0".
std::string version();

// The build's options, e.g. "Release, GNU 12.2.0, sanitizers: none".
std::string build_options();

}  // namespace attend
