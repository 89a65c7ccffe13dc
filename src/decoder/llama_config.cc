#include "attend/decoder/llama_config.h"

#include <cmath>

namespace attend::decoder {
namespace {

// Sizes above these are not a model attend can hold, whatever the file says.
constexpr int64_t kMaxWidth = 1 << 16, kMaxLayers = 1024, kMaxContext = 1 << 20, kMaxVocabulary = 1 << 22;

int64_t bounded(const gguf::File& file, const std::string& key, int64_t limit) {
  const int64_t value = file.integer(key);
  if (value <= 0 || value > limit) {
    fail<gguf::FormatError>("'{}': {} = {} is outside [1, {}]", file.path(), key, value, limit);
  }
  return value;
}

void refuse_rope_scaling(const gguf::File& file, const std::string& arch) {
  const std::string key = arch + ".rope.scaling.type";
  if (file.find(key) != nullptr && file.string(key) != "none") {
    fail<gguf::FormatError>("'{}': {} = '{}': RoPE scaling is not supported", file.path(), key, file.string(key));
  }
}

}  // namespace

LlamaConfig read_llama_config(const gguf::File& file) {
  const std::string arch = file.string("general.architecture");
  if (arch != "llama") {
    fail<gguf::FormatError>("'{}': the architecture is '{}'; attend runs 'llama' decoders", file.path(), arch);
  }
  LlamaConfig config;
  config.name = file.find("general.name") != nullptr ? file.string("general.name") : "llama";
  config.layers = bounded(file, arch + ".block_count", kMaxLayers);
  config.width = bounded(file, arch + ".embedding_length", kMaxWidth);
  config.ffn_width = bounded(file, arch + ".feed_forward_length", 8 * kMaxWidth);
  config.heads = bounded(file, arch + ".attention.head_count", config.width);
  config.kv_heads = file.find(arch + ".attention.head_count_kv") != nullptr
                        ? bounded(file, arch + ".attention.head_count_kv", config.heads)
                        : config.heads;
  config.context_length = bounded(file, arch + ".context_length", kMaxContext);
  config.vocabulary = static_cast<int64_t>(file.strings("tokenizer.ggml.tokens").size());
  if (config.vocabulary == 0 || config.vocabulary > kMaxVocabulary) {
    fail<gguf::FormatError>("'{}': a vocabulary of {} tokens", file.path(), config.vocabulary);
  }
  if (config.width % config.heads != 0 || config.heads % config.kv_heads != 0) {
    fail<gguf::FormatError>("'{}': width {}, {} heads and {} key/value heads do not divide", file.path(), config.width,
                            config.heads, config.kv_heads);
  }
  config.head_dim = config.width / config.heads;
  if (config.head_dim % 2 != 0) fail<gguf::FormatError>("'{}': head size {} is odd", file.path(), config.head_dim);
  const std::string rope_dims = arch + ".rope.dimension_count";
  if (file.find(rope_dims) != nullptr && file.integer(rope_dims) != config.head_dim) {
    fail<gguf::FormatError>("'{}': {} = {}: partial rotary embeddings are not supported (head size {})", file.path(),
                            rope_dims, file.integer(rope_dims), config.head_dim);
  }
  refuse_rope_scaling(file, arch);
  // The RoPE table holds cos and sin for every position and pair: context x D floats. A real
  // model's is at most a few hundred MB (a million positions of 128); a larger one is a
  // corrupt file, refused before anything is allocated.
  if (config.context_length * config.head_dim > (int64_t{1} << 28)) {
    fail<gguf::FormatError>("'{}': a context of {} positions with heads of {} would need a RoPE table of {} floats",
                            file.path(), config.context_length, config.head_dim,
                            config.context_length * config.head_dim);
  }
  config.rms_eps = file.real(arch + ".attention.layer_norm_rms_epsilon");
  const std::string base = arch + ".rope.freq_base";
  if (file.find(base) != nullptr) config.rope_base = file.real(base);
  if (!(config.rms_eps > 0) || !std::isfinite(config.rms_eps) || !(config.rope_base > 1) ||
      !std::isfinite(config.rope_base)) {
    fail<gguf::FormatError>("'{}': RMSNorm eps {} or RoPE base {} out of range", file.path(), config.rms_eps,
                            config.rope_base);
  }
  return config;
}

}  // namespace attend::decoder
