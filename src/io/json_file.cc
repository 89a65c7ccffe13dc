#include "io/json_file.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "attend/core/error.h"

namespace attend::io {

std::string read_small_file(const std::string& path, size_t max_bytes) {
  std::error_code error;
  ATTEND_CHECK(std::filesystem::is_regular_file(path, error), ValueError, "cannot read '{}': {}", path,
               std::filesystem::exists(path, error) ? "it is not a regular file" : "it does not exist");
  const auto size = std::filesystem::file_size(path, error);
  ATTEND_CHECK(!error && size <= max_bytes, ValueError, "'{}' is {} bytes, more than a configuration file ({} at most)",
               path, size, max_bytes);
  std::ifstream file(path, std::ios::binary);
  ATTEND_CHECK(file.good(), ValueError, "cannot read '{}'", path);
  std::stringstream text;
  text << file.rdbuf();
  ATTEND_CHECK(!file.bad(), ValueError, "reading '{}' failed", path);
  return text.str();
}

nlohmann::json parse_json(std::string_view text, const std::string& source) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number like 1e400
    fail("'{}' is not valid JSON: {}", source, e.what());
  }
}

nlohmann::json read_json_file(const std::string& path, size_t max_bytes) {
  return parse_json(read_small_file(path, max_bytes), path);
}

std::string json_kind(const nlohmann::json& value) {
  if (value.is_null()) return "null";
  if (value.is_boolean()) return "a boolean";
  if (value.is_number()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_array()) return "a list";
  return "an object";
}

}  // namespace attend::io
