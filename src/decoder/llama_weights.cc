#include "decoder/llama_weights.h"

#include "attend/gguf/quant_types.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <optional>

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

// A matrix (ne = [in, out]) as stored when `precision` and its type allow, else widened.
quant::WeightMatrix load_matrix(const gguf::File& file, const std::string& name, WeightPrecision precision) {
  const gguf::TensorInfo& info = file.tensor(name);
  const std::optional<quant::QuantFormat> format = gguf::quant_format_of(info.type);
  if (precision == WeightPrecision::stored && format) {
    return quant::WeightMatrix(quant::QuantizedMatrix::from_ggml_blocks(
        *format, info.ne[1], info.ne[0], file.bytes(info), fmt::format("'{}': tensor '{}'", file.path(), name)));
  }
  return quant::WeightMatrix(file.dequantize(info));
}

}  // namespace

WeightPrecision parse_weight_precision(std::string_view text) {
  if (text == "stored") return WeightPrecision::stored;
  if (text == "float32") return WeightPrecision::float32;
  fail<ValueError>("unknown weight precision '{}' (known: stored, float32)", text);
}

LlamaWeights load_llama_weights(const gguf::File& file, const LlamaConfig& config, WeightPrecision precision) {
  const bool tied = file.find_tensor("output.weight") == nullptr;
  check_tensors(file, expected_tensors(config, tied));
  const auto vector = [&](const std::string& name) { return file.dequantize(file.tensor(name)); };
  const auto matrix = [&](const std::string& name) { return load_matrix(file, name, precision); };
  const auto stacked = [&](std::initializer_list<std::string> names) {
    std::vector<quant::WeightMatrix> parts;
    for (const std::string& name : names) parts.push_back(matrix(name));
    return quant::WeightMatrix::stack(parts);
  };
  LlamaWeights weights;
  weights.token_embedding = matrix("token_embd.weight");
  weights.output_norm = vector("output_norm.weight");
  weights.output = tied ? weights.token_embedding : matrix("output.weight");
  for (int64_t i = 0; i < config.layers; ++i) {
    const std::string block = fmt::format("blk.{}.", i);
    weights.layers.push_back({vector(block + "attn_norm.weight"),
                              stacked({block + "attn_q.weight", block + "attn_k.weight", block + "attn_v.weight"}),
                              matrix(block + "attn_output.weight"), vector(block + "ffn_norm.weight"),
                              stacked({block + "ffn_gate.weight", block + "ffn_up.weight"}),
                              matrix(block + "ffn_down.weight")});
  }
  return weights;
}

}  // namespace attend::decoder
