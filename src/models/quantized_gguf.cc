#include "models/quantized_gguf.h"

#include "attend/core/error.h"
#include "attend/gguf/quant_types.h"
#include "attend/models/bert_gguf.h"

namespace attend::models {

std::optional<quant::QuantizedMatrix> stored_blocks(const gguf::File& file, quant::QuantFormat format,
                                                    const std::string& name) {
  const gguf::TensorInfo* info = file.find_tensor(name);
  if (info == nullptr || !gguf::quant_format_of(info->type)) return std::nullopt;  // F32: quantized at load
  ATTEND_CHECK(info->type == gguf::tensor_type_of(format), ValueError,
               "{}: tensor '{}' is {} but the file's attend.weights says {}", file.path(), name,
               gguf::tensor_type_name(info->type), quant::quant_format_name(format));
  const Shape shape = info->shape();
  ATTEND_CHECK(shape.size() == 2, ValueError, "{}: tensor '{}' of {} has shape {}, not a matrix", file.path(), name,
               gguf::tensor_type_name(info->type), shape_string(shape));
  return quant::QuantizedMatrix::from_ggml_blocks(format, shape[0], shape[1], file.bytes(*info),
                                                  file.path() + ": " + name);
}

std::string architecture_of(const gguf::File& file) {
  const gguf::Value* value = file.find("general.architecture");
  return value != nullptr && value->type == gguf::ValueType::kString ? file.string("general.architecture") : "";
}

bool has_architecture(const std::string& path, std::string_view architecture) {
  return is_gguf_file(path) && architecture_of(gguf::File::open(path)) == architecture;
}

quant::QuantFormat attend_weights(const gguf::File& file, std::string_view architecture, std::string_view what) {
  ATTEND_CHECK(architecture_of(file) == architecture && file.find("attend.weights") != nullptr, ValueError,
               "'{}' is not {} written by `attend quantize` (general.architecture '{}' and attend.weights)",
               file.path(), what, architecture);
  return quant::parse_quant_format(file.string("attend.weights"));
}

void add_parameters(gguf::Writer& writer, const nn::Module<float>& module, quant::QuantFormat format,
                    const std::function<bool(const std::string&)>& in_blocks) {
  for (const auto& [name, parameter] : module.named_parameters()) {
    if (in_blocks(name)) {
      const quant::QuantizedMatrix blocks = quant::QuantizedMatrix::quantize(format, parameter, name);
      writer.add_tensor(name, gguf::tensor_type_of(format), parameter.shape(), blocks.to_ggml_blocks());
    } else {
      writer.add_f32_tensor(name, parameter);
    }
  }
}

io::NamedTensors float_tensors(const gguf::File& file) {
  io::NamedTensors tensors;
  for (const gguf::TensorInfo& info : file.tensors()) tensors.emplace_back(info.name, file.dequantize(info));
  return tensors;
}

io::Metadata attend_metadata(const gguf::File& file) {
  io::Metadata metadata;
  for (const auto& [key, value] : file.metadata()) {
    if (key.starts_with(kMetadataPrefix))
      metadata[key.substr(std::string_view(kMetadataPrefix).size())] = file.string(key);
  }
  return metadata;
}

}  // namespace attend::models
