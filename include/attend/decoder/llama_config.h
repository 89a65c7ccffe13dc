// The shape of a LLaMA-architecture decoder (SmolLM2, LLaMA 2/3, Mistral without sliding
// windows) as a GGUF file's metadata gives it, checked before any weight is allocated.
//
//   <arch>.block_count                       layers
//   <arch>.embedding_length                  E, the width of the residual stream
//   <arch>.feed_forward_length               F, the SwiGLU hidden width
//   <arch>.attention.head_count              H query heads; D = E / H
//   <arch>.attention.head_count_kv           H_kv key/value heads (grouped-query when < H; default H)
//   <arch>.attention.layer_norm_rms_epsilon  RMSNorm's eps
//   <arch>.rope.freq_base                    RoPE's base (default 10000)
//   <arch>.rope.dimension_count              rotated dimensions of a head: must be D
//   <arch>.context_length                    the longest sequence the model was trained for
//   tokenizer.ggml.tokens                    the vocabulary (its length is V)
#pragma once

#include <cstdint>
#include <string>

#include "attend/gguf/gguf_file.h"

namespace attend::decoder {

struct LlamaConfig {
  std::string name;  // general.name, for messages
  int64_t layers = 0, width = 0, ffn_width = 0, heads = 0, kv_heads = 0, head_dim = 0;
  int64_t context_length = 0, vocabulary = 0;
  double rms_eps = 1e-5, rope_base = 10000;
};

// Reads and checks the configuration: architecture "llama" (anything else is refused, naming
// it), positive sizes within bounds, H divisible by H_kv, E by H, D even, no RoPE scaling.
// Throws gguf::FormatError naming the file and the key.
LlamaConfig read_llama_config(const gguf::File& file);

}  // namespace attend::decoder
