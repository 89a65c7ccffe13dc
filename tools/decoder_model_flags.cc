#include "decoder_model_flags.h"

#include "attend/core/error.h"

namespace attend::tools {

void add_decoder_model_options(CLI::App* command, DecoderModelFlags& flags) {
  command->add_option("--model", flags.model, "a GGUF file of a llama-architecture model")->capture_default_str();
  command
      ->add_option("--weights", flags.weights,
                   "stored: multiply Q8_0/Q4_0/Q4_1 weights as the file stores them (int8 kernels); float32: widen "
                   "every weight first (transformers' arithmetic)")
      ->check(CLI::IsMember({"stored", "float32"}))
      ->capture_default_str();
}

decoder::LlamaModel load_decoder_model(const DecoderModelFlags& flags) {
  ATTEND_CHECK(!flags.model.empty(), ValueError, "no model: scripts/setup installs SmolLM2, or pass --model FILE.gguf");
  return decoder::LlamaModel::load(flags.model, decoder::parse_weight_precision(flags.weights));
}

}  // namespace attend::tools
