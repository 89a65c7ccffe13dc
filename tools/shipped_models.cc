#include "shipped_models.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#ifndef ATTEND_SOURCE_PRETRAINED_DIR
#define ATTEND_SOURCE_PRETRAINED_DIR ""
#endif

namespace attend::tools {
namespace {

namespace fs = std::filesystem;

constexpr const char* kG2PFile = "g2p-transformer.safetensors";

// The folders of pretrained models, highest rank first (shipped_models.h).
std::vector<fs::path> pretrained_directories() {
  std::vector<fs::path> directories;
  if (const char* dir = std::getenv("ATTEND_PRETRAINED_DIR"); dir != nullptr && *dir != '\0') {
    return {fs::path(dir)};
  }
  std::error_code error;
  const fs::path binary = fs::read_symlink("/proc/self/exe", error);
  if (!error) directories.push_back(binary.parent_path().parent_path() / "share" / "attend" / "pretrained");
  if (*ATTEND_SOURCE_PRETRAINED_DIR != '\0') directories.emplace_back(ATTEND_SOURCE_PRETRAINED_DIR);
  return directories;
}

}  // namespace

std::string shipped_g2p_checkpoint() {
  const std::vector<fs::path> directories = pretrained_directories();
  for (const fs::path& directory : directories) {
    std::error_code error;
    if (fs::is_regular_file(directory / kG2PFile, error)) return (directory / kG2PFile).string();
  }
  return directories.empty() ? std::string(kG2PFile) : (directories.front() / kG2PFile).string();
}

std::string shipped_g2p_description() { return "the shipped G2P Transformer, " + shipped_g2p_checkpoint(); }

}  // namespace attend::tools
