// What `attend eval` needs of the text-classification commands (classify_command.cc).
#pragma once

#include <cstdint>
#include <string>

#include "attend/io/safetensors.h"

namespace attend::tools {

// A text classifier's checkpoint on the test or dev split of `data` (empty: the tweets): accuracy,
// macro-F1 and the confusion matrix. texts > 0: only the first `texts` texts of the split.
int run_classify_eval(const std::string& path, const std::string& split, const std::string& data, int64_t texts,
                      const std::string& weights);

}  // namespace attend::tools
