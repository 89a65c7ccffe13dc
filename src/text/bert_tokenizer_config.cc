// tokenizer_config.json, as transformers writes it for BERT-family models.
#include <cstdint>

#include <nlohmann/json.hpp>

#include "attend/core/error.h"
#include "attend/text/bert_tokenizer.h"
#include "io/json_file.h"

namespace attend::text {
namespace {

using nlohmann::json;

void read_flag(const json& config, const std::string& key, const std::string& path, bool& value) {
  if (!config.contains(key) || config[key].is_null()) return;
  ATTEND_CHECK(config[key].is_boolean(), ValueError, "{}: '{}' must be true or false, not {}", path, key,
               config[key].dump());
  value = config[key].get<bool>();
}

// A special token: "[UNK]", or {"content": "[UNK]", ...} (transformers' AddedToken).
void read_token(const json& config, const std::string& key, const std::string& path, std::string& token) {
  if (!config.contains(key) || config[key].is_null()) return;
  const json& entry = config[key];
  const json* content = entry.is_object() && entry.contains("content") ? &entry["content"] : &entry;
  ATTEND_CHECK(content->is_string(), ValueError,
               "{}: '{}' must be a token (a string, or an object with \"content\"), not {}", path, key, entry.dump());
  token = content->get<std::string>();
}

}  // namespace

BertTokenizerConfig parse_bert_tokenizer_config(std::string_view text, const std::string& path) {
  const json config = io::parse_json(text, path);
  ATTEND_CHECK(config.is_object(), ValueError, "{}: expected a JSON object, not {}", path, config.type_name());
  BertTokenizerConfig result;
  read_flag(config, "do_lower_case", path, result.do_lower_case);
  read_flag(config, "tokenize_chinese_chars", path, result.tokenize_chinese_chars);
  if (config.contains("strip_accents") && !config["strip_accents"].is_null()) {
    bool strip = false;
    read_flag(config, "strip_accents", path, strip);
    result.strip_accents = strip;
  }
  read_token(config, "unk_token", path, result.unknown_token);
  read_token(config, "cls_token", path, result.classifier_token);
  read_token(config, "sep_token", path, result.separator_token);
  read_token(config, "pad_token", path, result.padding_token);
  read_token(config, "mask_token", path, result.mask_token);
  // transformers writes int(1e30) for "no limit": a float here, or an integer past int64, both
  // read as no limit; a negative one is refused, not wrapped.
  if (config.contains("model_max_length") && config["model_max_length"].is_number_integer()) {
    const auto& limit = config["model_max_length"];
    if (limit.is_number_unsigned()) {
      if (limit.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) result.model_max_length = limit.get<int64_t>();
    } else {
      ATTEND_CHECK(limit.get<int64_t>() >= 0, ValueError, "{}: model_max_length = {} is negative", path,
                   limit.get<int64_t>());
      result.model_max_length = limit.get<int64_t>();
    }
  }
  return result;
}

BertTokenizerConfig load_bert_tokenizer_config(const std::string& path) {
  return parse_bert_tokenizer_config(io::read_small_file(path), path);
}

}  // namespace attend::text
