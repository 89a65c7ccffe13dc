// Shared by the io tests: a fresh directory per test (the harness's TempDir), whole-file reads
// and writes, and running code in a forked child that exits the way a crashed process does.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>

#include "harness/temp_dir.h"

namespace attend::io_fixtures {

// A fresh directory for one test, removed afterwards.
using testing::TempDir;

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Runs `body` in a forked child and returns its exit code; the child exits without running
// destructors or flushing anything, as a crashed or killed process would.
template <typename Body>
int run_in_child(Body body) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(body());
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace attend::io_fixtures
