// GGUF's tensor types of the quantized formats attend's kernels multiply (quant/quantized_matrix.h):
// Q8_0, Q4_0 and Q4_1 both ways.
#pragma once

#include <optional>

#include "attend/gguf/gguf_file.h"
#include "attend/quant/quantized_matrix.h"

namespace attend::gguf {

TensorType tensor_type_of(quant::QuantFormat format);
// The format of a GGUF type, or nullopt for a type the kernels do not multiply (F32, Q6_K, ...).
std::optional<quant::QuantFormat> quant_format_of(TensorType type);

}  // namespace attend::gguf
