// Loading a LLaMA decoder's tensors from GGUF (llama_model.cc's helper).
#pragma once

#include "attend/decoder/llama_model.h"

namespace attend::decoder {

// Checks every tensor of `file` against `config` (names, shapes, types attend converts, none
// missing, none extra), then keeps the quantized ones attend multiplies as they are (`stored`)
// and widens the rest, or widens all (`float32`).
LlamaWeights load_llama_weights(const gguf::File& file, const LlamaConfig& config, WeightPrecision precision);

}  // namespace attend::decoder
