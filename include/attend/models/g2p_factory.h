// Building G2P models by name, and the description of a model that travels in a checkpoint's
// metadata, so that `attend g2p`, `attend eval` and `attend viz` can rebuild what was trained.
//
//   metadata: task = "g2p", architecture = "transformer", model_dim, num_heads, layers,
//             feedforward_dim, max_length, norm_first, dropout
//         or  task = "g2p", architecture = "gru", embedding_dim, hidden_dim, max_length, dropout
// (checkpoints without an architecture key hold Transformers, without norm_first post-norm ones).
// Loading trusts none of it: each size is bounded, and the tensors must be those it implies.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "attend/core/random.h"
#include "attend/io/safetensors.h"
#include "attend/io/tensor_table.h"
#include "attend/models/g2p.h"
#include "attend/models/g2p_model.h"
#include "attend/models/g2p_recurrent.h"

namespace attend::models {

struct G2PModelSpec {
  std::string architecture = "transformer";  // or "gru"; the config of the other one is unused
  G2PConfig transformer;
  G2PRecurrentConfig recurrent;
};

// The names g2p_metadata and make_g2p_model accept.
const std::vector<std::string>& g2p_architectures();

// ValueError for an unknown architecture.
io::Metadata g2p_metadata(const G2PModelSpec& spec);
// ValueError naming `path` and the key when the metadata is not a G2P model's.
G2PModelSpec g2p_spec_from_metadata(const io::Metadata& metadata, const std::string& path);

// The parameters make_g2p_model(spec) registers, by name and shape, without building the model.
io::TensorTable g2p_parameter_table(const G2PModelSpec& spec);
// The spec of `file`'s metadata, checked against its tensors before any model is built: every
// parameter that spec implies must be there with its shape, and nothing else but training state
// (io/tensor_table.h). ValueError naming the file, the metadata's sizes and the tensors otherwise.
G2PModelSpec g2p_spec_from_checkpoint(const io::SafetensorsFile& file);

// A freshly initialized model (weights drawn from `generator`).
std::unique_ptr<G2PModel<float>> make_g2p_model(const G2PModelSpec& spec, Generator& generator);
// The model saved in `file` (model.safetensors or checkpoint.safetensors), in evaluation mode,
// built from g2p_spec_from_checkpoint(file); the path version reads the file once.
std::unique_ptr<G2PModel<float>> load_g2p_model(const io::SafetensorsFile& file);
std::unique_ptr<G2PModel<float>> load_g2p_model(const std::string& path);
// The same with its Linear layers quantized to `weights` ("q8_0", "q4_0", "q4_1": nn::Linear's
// inference on GGML blocks; embeddings, norms and the GRU's recurrences stay float), or as saved
// for "float32". ValueError naming any other value.
std::unique_ptr<G2PModel<float>> load_g2p_model(const io::SafetensorsFile& file, const std::string& weights);
std::unique_ptr<G2PModel<float>> load_g2p_model(const std::string& path, const std::string& weights);

}  // namespace attend::models
