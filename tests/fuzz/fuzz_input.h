// What every fuzz target (tests/fuzz/*_fuzz.cc) shares: the input as a file for readers that
// take a path, a selector byte for targets that drive several readers, and the rule that decides
// what counts as a finding.
//
// The rule: a reader given arbitrary bytes either returns something valid or throws attend::Error
// (ValueError, ShapeError, io::FormatError, io::IoError), whose message is the user's clear
// error. Anything else is a finding and reaches libFuzzer as a crash: a sanitizer report, a leak,
// an out-of-memory or a timeout, an exception of another type (std::bad_alloc from a size taken
// on trust, nlohmann's or the standard library's raw messages), or a failed invariant check
// (fuzz_require: an answer that is wrong without being an error).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <unistd.h>

#include "attend/core/error.h"

namespace attend::fuzz {

// The input as a string (bytes, not necessarily UTF-8).
inline std::string bytes_of(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Writes `bytes` to a file of this process (under $TMPDIR or /tmp, named by the pid and
// `name`, rewritten at every input) and returns its path; for readers that take a path.
inline std::string write_input_file(std::string_view bytes, const std::string& name) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/attend-fuzz-" + std::to_string(getpid()) + "-" + name;
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) std::abort();
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size()) std::abort();
  if (std::fclose(file) != 0) std::abort();
  return path;
}

// An invariant of a reader's answer; a failure is a finding (a silent wrong answer).
#define ATTEND_FUZZ_REQUIRE(condition)                                                              \
  do {                                                                                              \
    if (!(condition)) {                                                                             \
      std::fprintf(stderr, "fuzz: invariant failed: %s (%s:%d)\n", #condition, __FILE__, __LINE__); \
      std::abort();                                                                                 \
    }                                                                                               \
  } while (0)

// Runs `read` on the input; attend::Error is the expected refusal of bad bytes, so it is caught
// here (its message must not be empty). Every other exception escapes to libFuzzer.
template <typename Read>
int run_reader(Read&& read) {
  try {
    read();
  } catch (const Error& error) {
    ATTEND_FUZZ_REQUIRE(error.what()[0] != '\0');
  }
  return 0;
}

}  // namespace attend::fuzz
