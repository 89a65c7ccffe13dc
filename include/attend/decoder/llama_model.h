// A LLaMA-architecture decoder (Touvron et al. 2023) from a GGUF file, run for inference on its
// weights as stored (Q8_0, Q4_0 and Q4_1 multiplied as they are: quant/; other types widened
// to float32) or on all of them widened to float32:
//
//   x = E[tokens]                                               (R, E) token embedding rows
//   per layer:
//     h = rms_norm(x) * w_attn_norm
//     q = h Wq^T, k = h Wk^T, v = h Wv^T                        (R, H D), (R, H_kv D), (R, H_kv D)
//     q, k = rope(q, k) at each row's position                  pairs (2i, 2i + 1), see below
//     K, V caches += k, v;  a = causal attention(q, K, V)        grouped-query: head h reads h / (H / H_kv)
//     x = x + a Wo^T
//     h = rms_norm(x) * w_ffn_norm
//     x = x + (silu(h Wg^T) * (h Wu^T)) Wd^T                     SwiGLU
//   logits = (rms_norm(x) * w_out_norm) W_out^T                 W_out = E when the file ties them
//
// RoPE. Hugging Face's LLaMA rotates pairs (i, i + D/2) of each head; llama.cpp's converter
// stores Wq and Wk with each head's rows permuted so that those pairs sit at (2i, 2i + 1)
// (convert_hf_to_gguf.py's permute; transformers undoes it when it loads a GGUF). Rotating
// adjacent pairs of the stored rows therefore gives the same q_m . k_n, since the scores are a
// sum over the pairs and V is not permuted: attend rotates the stored layout as it is
// (decoder tests: equal to the half-split rotation of the un-permuted weights). The angles are
// computed as transformers computes them, in float32: theta_i = 1 / base^(2i / D),
// angle = theta_i * position, then cos and sin.
//
// Caches: each sequence has a KvCache; a forward call takes any number of segments (a sequence
// and its new tokens), so a prompt is one causal prefill and a generation step decodes all
// active sequences in one call (their projections and feed-forward layers as one matrix
// product; attention per sequence over its own cache, in place).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attend/core/tensor.h"
#include "attend/decoder/kv_cache.h"
#include "attend/decoder/llama_config.h"
#include "attend/gguf/gguf_file.h"
#include "attend/quant/weight_matrix.h"

namespace attend::decoder {

struct LlamaLayer {
  Tensor<float> attn_norm;      // (E)
  quant::WeightMatrix qkv;      // (H D + 2 H_kv D, E): Wq, Wk, Wv stacked; q and k rows as stored (pairs adjacent)
  quant::WeightMatrix wo;       // (E, H D)
  Tensor<float> ffn_norm;       // (E)
  quant::WeightMatrix gate_up;  // (2 F, E): W_gate, then W_up
  quant::WeightMatrix down;     // (E, F)
};

struct LlamaWeights {
  quant::WeightMatrix token_embedding;  // (V, E)
  Tensor<float> output_norm;            // (E)
  quant::WeightMatrix output;           // (V, E): token_embedding itself when tied
  std::vector<LlamaLayer> layers;
};

// Which arithmetic the projections use: the file's quantized blocks where attend's kernels
// multiply them (Q8_0, Q4_0, Q4_1; anything else widened), or every weight widened to float32
// (what transformers computes on a GGUF file: the exactness tests use it).
enum class WeightPrecision { stored, float32 };

// "stored" or "float32"; ValueError naming the text otherwise.
WeightPrecision parse_weight_precision(std::string_view text);

// One sequence's part of a forward call: its new tokens, appended to its cache.
struct Segment {
  std::span<const int32_t> tokens;
  KvCache* cache = nullptr;
};

// Instruments a forward call of one segment: the attention weights of every layer and head,
// and heads whose attention output is zeroed before W_o (ablation).
struct ForwardHooks {
  bool capture_attention = false;
  std::vector<Tensor<float>> attention;             // per layer, (H, n, keys): softmax rows, 0 past causality
  std::vector<std::vector<int64_t>> ablated_heads;  // per layer (or fewer layers): heads to zero
};

class LlamaModel {
 public:
  // Opens a GGUF file, checks its configuration and every tensor's name, type and shape before
  // converting any, then keeps or widens them as `precision` says. A tensor the decoder does not
  // use is refused (it might change the computation: rope_freqs, biases), as is a missing one.
  static LlamaModel load(const std::string& path, WeightPrecision precision = WeightPrecision::stored);

  const LlamaConfig& config() const { return config_; }
  const gguf::File& file() const { return *file_; }
  const LlamaWeights& weights() const { return weights_; }
  KvCache new_cache(int64_t capacity = 256) const { return KvCache(config_, capacity); }

  // Runs each segment's tokens after what its cache holds, appending their keys and values.
  // Returns the logits of each segment's last position, (segments, V), or of every new
  // position in order, (total tokens, V), with all_positions. ValueError on an empty segment,
  // a token outside [0, V), a cache given twice, or a segment that would overflow the context.
  Tensor<float> forward(std::span<const Segment> segments, bool all_positions = false) const;
  Tensor<float> forward(std::span<const int32_t> tokens, KvCache& cache, bool all_positions = false) const;
  // The same, instrumented (hooks: one segment only; ValueError otherwise, or for a head outside [0, H)).
  Tensor<float> forward(std::span<const int32_t> tokens, KvCache& cache, bool all_positions, ForwardHooks& hooks) const;

 private:
  LlamaModel() = default;
  Tensor<float> run(std::span<const Segment> segments, bool all_positions, ForwardHooks* hooks) const;
  std::shared_ptr<gguf::File> file_;
  LlamaConfig config_;
  LlamaWeights weights_;
  std::vector<float> rope_cos_, rope_sin_;  // (context, D / 2)
};

// The shipped model scripts/setup unpacks (SmolLM2-135M-Instruct, Q4_1), found at run time
// (io/data_locations.h: ATTEND_SMOLLM2, else the data directory); it may not exist.
std::string default_model_path();

}  // namespace attend::decoder
