// --model FILE.gguf and --weights stored|float32, which the decoder commands (generate, chat,
// perplexity, heads) share, and loading the model they name.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "attend/decoder/llama_model.h"

namespace attend::tools {

struct DecoderModelFlags {
  std::string model = decoder::default_model_path();
  std::string weights = "stored";
};

void add_decoder_model_options(CLI::App* command, DecoderModelFlags& flags);
// ValueError when no model is given (none installed) or --weights is unknown.
decoder::LlamaModel load_decoder_model(const DecoderModelFlags& flags);

}  // namespace attend::tools
