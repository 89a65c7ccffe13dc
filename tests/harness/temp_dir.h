// A directory of the running test's own, removed at the end of the test.
//
// ctest runs every test in its own process, two at a time (scripts/test: ctest -j2), and two
// build trees may run the suite at once: a fixed path under /tmp lets one test's cleanup delete
// another's files. The name carries the test's suite and name and the process id.
#pragma once

#include <set>
#include <string>
#include <system_error>

#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

namespace attend::testing {

class TempDir {
 public:
  TempDir() : path_(unique_path()) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    if (kept_) return;
    std::error_code ignored;  // a failed cleanup must not turn a passing test into a crash
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Leaves the directory behind, to look at what the test wrote.
  void keep() { kept_ = true; }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // The names in the directory, to check that no temporary file is left behind.
  std::set<std::string> entries() const {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(path_)) names.insert(entry.path().filename().string());
    return names;
  }

 private:
  static std::filesystem::path unique_path() {
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "attend_";
    name += test ? std::string(test->test_suite_name()) + "." + test->name() : std::string("outside_a_test");
    for (char& c : name) {
      if (c == '/') c = '_';  // parameterized tests: "Suite/Name/0"
    }
    return std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
  }

  std::filesystem::path path_;
  bool kept_ = false;
};

}  // namespace attend::testing
