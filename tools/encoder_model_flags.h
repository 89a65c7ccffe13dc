// --model DIR and --weights float32|q8_0|q4_0|q4_1, which the sentence-embedding commands
// (embed, similarity, search) share, and loading the encoder they name.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "attend/models/sentence_encoder.h"

namespace attend::tools {

struct EncoderModelFlags {
  std::string model;  // the caller's default (the shipped MiniLM), or --model
  std::string weights = "float32";
};

void add_encoder_model_options(CLI::App* command, EncoderModelFlags& flags);
// --weights float32|q8_0|q4_0|q4_1, one spelling for every command over a BERT encoder (embed,
// similarity, search, and a fine-tuned classifier's classify and eval).
void add_weights_flag(CLI::App& command, std::string& weights);
// ValueError when no model directory is given (none installed); the projections quantized
// when --weights names a format (models::BertModel::quantize).
models::SentenceEncoder load_sentence_encoder(const EncoderModelFlags& flags);

}  // namespace attend::tools
