// JSON configuration files (config.json, tokenizer_config.json, ...), read whole and parsed, for
// the library's own loaders: nlohmann::json stays out of the public headers.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace attend::io {

// The bytes of a small file (a configuration, a vocabulary). ValueError naming the file when it
// cannot be read or is larger than max_bytes (this refuses a weights file given by mistake
// without reading it).
std::string read_small_file(const std::string& path, size_t max_bytes = 16 << 20);

// `text` parsed; ValueError naming `source` when it is not valid JSON.
nlohmann::json parse_json(std::string_view text, const std::string& source);

// The parsed file: read_small_file, then parse_json.
nlohmann::json read_json_file(const std::string& path, size_t max_bytes = 16 << 20);

// The JSON type of `value` as a reader would say it: "a string", "a number", "an object", ...
std::string json_kind(const nlohmann::json& value);

}  // namespace attend::io
