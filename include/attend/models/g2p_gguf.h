// A G2P model in one GGUF file (`attend quantize --type F model.safetensors OUT.gguf`): the
// weights of its quantizable Linear layers (nn::quantize_linear_layers' choice) in GGML's
// blocks, every other tensor F32, the checkpoint's metadata kept:
//
//   general.architecture     "attend.g2p"
//   attend.weights           "q8_0" | "q4_0" | "q4_1"
//   attend.meta.<key>        the checkpoint's metadata (task, architecture, sizes ...)
//   tensors                  the model's parameter names
//
// Loading it gives the model that the checkpoint gives with --weights of that format, bit for bit
// (the same blocks, multiplied as they are).
#pragma once

#include <memory>
#include <string>

#include "attend/models/g2p_model.h"
#include "attend/quant/quantized_matrix.h"

namespace attend::models {

// Writes `checkpoint` (a G2P model.safetensors, every check of loading it first) as above; the
// file is assembled, then written atomically (an existing `out` only with `overwrite`).
void write_g2p_gguf(const std::string& checkpoint, quant::QuantFormat format, const std::string& out, bool overwrite);

bool is_g2p_gguf_file(const std::string& path);

// The model of such a file, in evaluation mode; ValueError when it is not one.
std::unique_ptr<G2PModel<float>> load_g2p_gguf(const std::string& path);

}  // namespace attend::models
