// What the SmolLM2 golden tests share (tests/golden/smollm2): the files, their JSON lines, the
// model loaded once per precision, and the last position's logits of a prompt.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attend/decoder/llama_model.h"

namespace attend::decoder {

inline std::filesystem::path smollm2_golden(const std::string& name) {
  return std::filesystem::path(ATTEND_GOLDEN_DIR) / "smollm2" / name;
}

inline std::vector<nlohmann::json> read_golden_lines(const std::string& name) {
  std::ifstream in(smollm2_golden(name));
  std::vector<nlohmann::json> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// The shipped file loaded once per precision for the test binary; nullptr when not installed.
inline const LlamaModel* shipped_smollm2(WeightPrecision precision) {
  static const LlamaModel* loaded[2] = {nullptr, nullptr};
  static bool tried[2] = {false, false};
  const int slot = precision == WeightPrecision::stored ? 0 : 1;
  if (!tried[slot]) {
    tried[slot] = true;
    if (std::filesystem::exists(ATTEND_SMOLLM2_PATH))
      loaded[slot] = new LlamaModel(LlamaModel::load(ATTEND_SMOLLM2_PATH, precision));
  }
  return loaded[slot];
}

inline std::vector<float> last_logits(const LlamaModel& model, const std::vector<int32_t>& ids) {
  KvCache cache = model.new_cache(static_cast<int64_t>(ids.size()));
  return model.forward(ids, cache).to_vector();
}

inline int32_t arg_max(const std::vector<float>& logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

}  // namespace attend::decoder
