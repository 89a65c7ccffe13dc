// ggml's tensor types: the block each stores its values in (ggml.c's type traits).
#include <fmt/format.h>

#include "attend/core/shape.h"
#include "attend/gguf/gguf_file.h"

namespace attend::gguf {
namespace {

struct TypeTraits {
  TensorType type;
  std::string_view name;
  BlockLayout block;
  bool dequantizable;
};

// QK_K = 256 values per block for the "K" types.
constexpr TypeTraits kTypes[] = {
    {TensorType::kF32, "F32", {1, 4}, true},       {TensorType::kF16, "F16", {1, 2}, true},
    {TensorType::kQ4_0, "Q4_0", {32, 18}, true},   {TensorType::kQ4_1, "Q4_1", {32, 20}, true},
    {TensorType::kQ5_0, "Q5_0", {32, 22}, true},   {TensorType::kQ5_1, "Q5_1", {32, 24}, true},
    {TensorType::kQ8_0, "Q8_0", {32, 34}, true},   {TensorType::kQ8_1, "Q8_1", {32, 36}, false},
    {TensorType::kQ2_K, "Q2_K", {256, 84}, false}, {TensorType::kQ3_K, "Q3_K", {256, 110}, false},
    {TensorType::kQ4_K, "Q4_K", {256, 144}, true}, {TensorType::kQ5_K, "Q5_K", {256, 176}, true},
    {TensorType::kQ6_K, "Q6_K", {256, 210}, true}, {TensorType::kQ8_K, "Q8_K", {256, 292}, false},
    {TensorType::kI8, "I8", {1, 1}, false},        {TensorType::kI16, "I16", {1, 2}, false},
    {TensorType::kI32, "I32", {1, 4}, false},      {TensorType::kI64, "I64", {1, 8}, false},
    {TensorType::kF64, "F64", {1, 8}, false},      {TensorType::kBF16, "BF16", {1, 2}, true},
};

const TypeTraits* find_type(TensorType type) {
  for (const TypeTraits& traits : kTypes) {
    if (traits.type == type) return &traits;
  }
  return nullptr;
}

}  // namespace

std::string_view tensor_type_name(TensorType type) {
  if (const TypeTraits* traits = find_type(type)) return traits->name;
  thread_local std::string unknown;
  unknown = fmt::format("type {}", static_cast<uint32_t>(type));
  return unknown;
}

BlockLayout block_layout(TensorType type) {
  const TypeTraits* traits = find_type(type);
  if (traits == nullptr) fail<FormatError>("unknown GGUF tensor type {}", static_cast<uint32_t>(type));
  return traits->block;
}

bool can_dequantize(TensorType type) {
  const TypeTraits* traits = find_type(type);
  return traits != nullptr && traits->dequantizable;
}

int64_t TensorInfo::elements() const { return shape_numel(shape()); }

Shape TensorInfo::shape() const { return Shape(ne.rbegin(), ne.rend()); }

}  // namespace attend::gguf
