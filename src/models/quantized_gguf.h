// What the GGUF files of `attend quantize` share (models/bert_gguf.h, models/g2p_gguf.h): a
// model's parameters written with the chosen ones in GGML blocks and the rest F32, the format in
// attend.weights, an attend checkpoint's metadata as attend.meta.<key>; and read back.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "attend/gguf/gguf_file.h"
#include "attend/gguf/gguf_writer.h"
#include "attend/io/safetensors.h"
#include "attend/nn/module.h"
#include "attend/quant/quantized_matrix.h"

namespace attend::models {

constexpr const char* kMetadataPrefix = "attend.meta.";

// The file's blocks of the matrix `name`, when it stored them in `format` (ValueError when it
// stored another format or not a matrix); nullopt when it stored F32.
std::optional<quant::QuantizedMatrix> stored_blocks(const gguf::File& file, quant::QuantFormat format,
                                                    const std::string& name);

// general.architecture of a GGUF file, "" when it has none or not as a string.
std::string architecture_of(const gguf::File& file);
bool has_architecture(const std::string& path, std::string_view architecture);

// The blocks' format of a file that attend quantize wrote as `architecture`; ValueError saying
// what the file should be (`what`) otherwise.
quant::QuantFormat attend_weights(const gguf::File& file, std::string_view architecture, std::string_view what);

// Every parameter of `module`: those `in_blocks` names in `format`'s blocks, the rest F32.
void add_parameters(gguf::Writer& writer, const nn::Module<float>& module, quant::QuantFormat format,
                    const std::function<bool(const std::string&)>& in_blocks);

// Every tensor of `file` in float32 (blocks widened: the float weights a model keeps beside them).
io::NamedTensors float_tensors(const gguf::File& file);

// The attend.meta.<key> strings of `file` as a checkpoint's metadata.
io::Metadata attend_metadata(const gguf::File& file);

}  // namespace attend::models
