#include "output_files.h"

#include <filesystem>

#include <fmt/format.h>

#include "attend/viz/output_file.h"

namespace attend::tools {

namespace fs = std::filesystem;

void write_all(const std::string& directory, const Files& files) {
  const bool existed = fs::exists(directory);
  viz::require_writable_directory(directory);
  std::vector<fs::path> written;
  try {
    for (const auto& [name, bytes] : files) {
      const fs::path path = fs::path(directory) / name;
      viz::write_output_file(path.string(), bytes);
      written.push_back(path);
    }
  } catch (...) {
    std::error_code ignored;
    for (const auto& path : written) fs::remove(path, ignored);
    if (!existed) fs::remove(directory, ignored);
    throw;
  }
  for (const auto& [name, bytes] : files) fmt::print("wrote {}\n", (fs::path(directory) / name).string());
}

}  // namespace attend::tools
