#include "encoder_model_flags.h"

#include "attend/core/error.h"
#include "attend/models/bert_gguf.h"
#include "attend/quant/quantized_matrix.h"

namespace attend::tools {

void add_encoder_model_options(CLI::App* command, EncoderModelFlags& flags) {
  command
      ->add_option("--model", flags.model,
                   "a sentence-transformers or Hugging Face BERT model directory, or a GGUF file of one that "
                   "attend quantize wrote")
      ->capture_default_str();
  add_weights_flag(*command, flags.weights);
}

void add_weights_flag(CLI::App& command, std::string& weights) {
  command
      .add_option("--weights", weights,
                  "float32, or q8_0 / q4_0 / q4_1: the model's projections (a BERT encoder layer's; a G2P "
                  "model's linear layers) quantized at load and multiplied with int8 activations "
                  "(docs/quantization.md)")
      ->check(CLI::IsMember({"float32", "q8_0", "q4_0", "q4_1"}))
      ->capture_default_str();
}

models::SentenceEncoder load_sentence_encoder(const EncoderModelFlags& flags) {
  ATTEND_CHECK(
      !flags.model.empty(), ValueError,
      "no model directory: scripts/setup installs all-MiniLM-L6-v2 into the data directory, or set ATTEND_MINILM, "
      "or pass --model DIR (attend info shows where it was looked for)");
  if (models::is_gguf_file(flags.model)) {
    ATTEND_CHECK(flags.weights == "float32", ValueError,
                 "--weights {}: '{}' is already quantized (its projections are stored in their blocks); drop --weights",
                 flags.weights, flags.model);
    return models::load_sentence_encoder_gguf(flags.model);
  }
  models::SentenceEncoder encoder = models::SentenceEncoder::from_directory(flags.model);
  if (flags.weights != "float32") encoder.model().quantize(quant::parse_quant_format(flags.weights));
  return encoder;
}

}  // namespace attend::tools
