// JSON configuration files (config.json, tokenizer_config.json, ...), read whole and parsed, for
// the library's own loaders: nlohmann::json stays out of the public headers.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace attend::io {

// The parsed file. ValueError naming the file when it cannot be read, is not valid JSON, or is
// larger than max_bytes (configuration files are small; this refuses a weights file given by
// mistake without reading it).
nlohmann::json read_json_file(const std::string& path, size_t max_bytes = 16 << 20);

// The JSON type of `value` as a reader would say it: "a string", "a number", "an object", ...
std::string json_kind(const nlohmann::json& value);

}  // namespace attend::io
