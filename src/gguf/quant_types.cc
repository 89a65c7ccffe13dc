#include "attend/gguf/quant_types.h"

namespace attend::gguf {

TensorType tensor_type_of(quant::QuantFormat format) {
  switch (format) {
    case quant::QuantFormat::q8_0:
      return TensorType::kQ8_0;
    case quant::QuantFormat::q4_0:
      return TensorType::kQ4_0;
    case quant::QuantFormat::q4_1:
      return TensorType::kQ4_1;
  }
  return TensorType::kF32;
}

std::optional<quant::QuantFormat> quant_format_of(TensorType type) {
  switch (type) {
    case TensorType::kQ8_0:
      return quant::QuantFormat::q8_0;
    case TensorType::kQ4_0:
      return quant::QuantFormat::q4_0;
    case TensorType::kQ4_1:
      return quant::QuantFormat::q4_1;
    default:
      return std::nullopt;
  }
}

}  // namespace attend::gguf
