#include "attend/viz/output_file.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "attend/core/error.h"
#include "attend/io/atomic_file.h"

namespace attend::viz {

void require_writable_directory(const std::string& directory) {
  const std::filesystem::path dir = directory.empty() ? "." : directory;
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  ATTEND_CHECK(std::filesystem::is_directory(dir), ValueError,
               "output directory '{}' does not exist and cannot be created{}", dir.string(),
               error ? ": " + error.message() : "");
  // access() answers for the real user; root passes it on any directory it may write.
  ATTEND_CHECK(::access(dir.c_str(), W_OK | X_OK) == 0, ValueError, "output directory '{}' is not writable",
               dir.string());
}

void check_output_directory(const std::string& directory) {
  std::filesystem::path dir = std::filesystem::absolute(directory.empty() ? "." : directory);
  while (!std::filesystem::exists(dir) && dir.has_parent_path() && dir.parent_path() != dir) dir = dir.parent_path();
  ATTEND_CHECK(std::filesystem::is_directory(dir), ValueError,
               "output directory '{}' cannot be created: '{}' is not a directory", directory, dir.string());
  ATTEND_CHECK(::access(dir.c_str(), W_OK | X_OK) == 0, ValueError,
               "output directory '{}' cannot be created: '{}' is not writable", directory, dir.string());
}

void write_output_file(const std::string& path, std::string_view bytes) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  ATTEND_CHECK(!parent.empty() ? std::filesystem::is_directory(parent) : true, ValueError,
               "cannot write '{}': directory '{}' does not exist", path, parent.string());
  ATTEND_CHECK(::access(parent.empty() ? "." : parent.c_str(), W_OK | X_OK) == 0, ValueError,
               "cannot write '{}': directory '{}' is not writable", path, parent.empty() ? "." : parent.string());
  try {
    io::AtomicFile file(path, /*overwrite=*/true);
    file.write(bytes.data(), bytes.size());
    file.commit();
  } catch (const io::IoError& e) {
    fail<ValueError>("cannot write '{}': {}", path, e.what());
  }
}

}  // namespace attend::viz
