// The sampling and length flags that `attend generate` and `attend chat` share, with the
// defaults they start from (llama.cpp's: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05).
#pragma once

#include <CLI/CLI.hpp>

#include "attend/decoder/generation.h"

namespace attend::tools {

void add_sampling_options(CLI::App* command, decoder::GenerationOptions& options);

}  // namespace attend::tools
