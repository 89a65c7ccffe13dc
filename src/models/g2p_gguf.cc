#include "attend/models/g2p_gguf.h"

#include <set>

#include "attend/core/error.h"
#include "attend/gguf/gguf_file.h"
#include "attend/gguf/gguf_writer.h"
#include "attend/io/safetensors.h"
#include "attend/models/g2p_factory.h"
#include "attend/nn/linear.h"
#include "models/quantized_gguf.h"

namespace attend::models {
namespace {

constexpr const char* kG2PArchitecture = "attend.g2p";

}  // namespace

void write_g2p_gguf(const std::string& checkpoint, quant::QuantFormat format, const std::string& out, bool overwrite) {
  const io::SafetensorsFile file = io::load_safetensors(checkpoint);
  const std::unique_ptr<G2PModel<float>> model = load_g2p_model(file);  // every check of a checkpoint
  std::set<std::string> in_blocks;
  for (const auto& [name, linear] : nn::quantizable_linear_layers(*model)) in_blocks.insert(name + ".weight");
  gguf::Writer writer;
  writer.add_string("general.architecture", kG2PArchitecture);
  writer.add_string("attend.weights", quant::quant_format_name(format));
  for (const auto& [key, value] : file.metadata()) writer.add_string(kMetadataPrefix + key, value);
  add_parameters(writer, *model, format, [&](const std::string& name) { return in_blocks.count(name) == 1; });
  writer.write(out, overwrite);
}

bool is_g2p_gguf_file(const std::string& path) { return has_architecture(path, kG2PArchitecture); }

std::unique_ptr<G2PModel<float>> load_g2p_gguf(const std::string& path) {
  const gguf::File file = gguf::File::open(path);
  const quant::QuantFormat format = attend_weights(file, kG2PArchitecture, "a G2P model");
  std::unique_ptr<G2PModel<float>> model =
      load_g2p_model(io::SafetensorsFile(path, float_tensors(file), attend_metadata(file)));
  for (const auto& [name, linear] : nn::quantizable_linear_layers(*model)) {
    const std::optional<quant::QuantizedMatrix> blocks = stored_blocks(file, format, name + ".weight");
    ATTEND_CHECK(blocks.has_value(), ValueError, "{}: '{}.weight' is not stored in {} blocks", path, name,
                 quant::quant_format_name(format));
    linear->set_quantized(*blocks);
  }
  model->eval();
  return model;
}

}  // namespace attend::models
