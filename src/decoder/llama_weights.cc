#include "decoder/llama_weights.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

namespace attend::decoder {
namespace {

// Tensor name -> its GGUF ne (ne[0] = a row's length).
using Expected = std::map<std::string, std::vector<int64_t>>;

Expected expected_tensors(const LlamaConfig& c, bool tied) {
  const int64_t q_width = c.heads * c.head_dim, kv_width = c.kv_heads * c.head_dim;
  Expected expected{{"token_embd.weight", {c.width, c.vocabulary}}, {"output_norm.weight", {c.width}}};
  if (!tied) expected["output.weight"] = {c.width, c.vocabulary};
  for (int64_t i = 0; i < c.layers; ++i) {
    const std::string block = fmt::format("blk.{}.", i);
    expected[block + "attn_norm.weight"] = {c.width};
    expected[block + "attn_q.weight"] = {c.width, q_width};
    expected[block + "attn_k.weight"] = {c.width, kv_width};
    expected[block + "attn_v.weight"] = {c.width, kv_width};
    expected[block + "attn_output.weight"] = {q_width, c.width};
    expected[block + "ffn_norm.weight"] = {c.width};
    expected[block + "ffn_gate.weight"] = {c.width, c.ffn_width};
    expected[block + "ffn_up.weight"] = {c.width, c.ffn_width};
    expected[block + "ffn_down.weight"] = {c.ffn_width, c.width};
  }
  return expected;
}

void check_tensors(const gguf::File& file, const Expected& expected) {
  for (const gguf::TensorInfo& info : file.tensors()) {
    const auto found = expected.find(info.name);
    if (found == expected.end()) {
      fail<gguf::FormatError>("'{}': tensor '{}' is not part of the llama decoder attend runs", file.path(), info.name);
    }
    if (info.ne != found->second) {
      fail<gguf::FormatError>("'{}': tensor '{}' has ne [{}], but the configuration gives [{}]", file.path(), info.name,
                              fmt::join(info.ne, ", "), fmt::join(found->second, ", "));
    }
    if (!gguf::can_dequantize(info.type)) {
      fail<gguf::FormatError>("'{}': tensor '{}' has type {}, which attend cannot convert to float32", file.path(),
                              info.name, gguf::tensor_type_name(info.type));
    }
  }
  for (const auto& [name, ne] : expected) {
    if (file.find_tensor(name) == nullptr) fail<gguf::FormatError>("'{}': tensor '{}' is missing", file.path(), name);
  }
}

}  // namespace

LlamaWeights load_llama_weights(const gguf::File& file, const LlamaConfig& config) {
  const bool tied = file.find_tensor("output.weight") == nullptr;
  check_tensors(file, expected_tensors(config, tied));
  const auto load = [&](const std::string& name) { return file.dequantize(file.tensor(name)); };
  LlamaWeights weights;
  weights.token_embedding = load("token_embd.weight");
  weights.output_norm = load("output_norm.weight");
  weights.output = tied ? weights.token_embedding : load("output.weight");
  for (int64_t i = 0; i < config.layers; ++i) {
    const std::string block = fmt::format("blk.{}.", i);
    weights.layers.push_back(
        {load(block + "attn_norm.weight"), load(block + "attn_q.weight"), load(block + "attn_k.weight"),
         load(block + "attn_v.weight"), load(block + "attn_output.weight"), load(block + "ffn_norm.weight"),
         load(block + "ffn_gate.weight"), load(block + "ffn_up.weight"), load(block + "ffn_down.weight")});
  }
  return weights;
}

}  // namespace attend::decoder
