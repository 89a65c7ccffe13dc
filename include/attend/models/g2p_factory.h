// Building G2P models by name, and the description of a model that travels in a checkpoint's
// metadata, so that `attend g2p`, `attend eval` and `attend viz` can rebuild what was trained.
//
//   metadata: task = "g2p", architecture = "transformer", model_dim, num_heads, layers,
//             feedforward_dim, max_length, norm_first, dropout
#pragma once

#include <memory>
#include <string>

#include "attend/core/random.h"
#include "attend/io/safetensors.h"
#include "attend/models/g2p.h"
#include "attend/models/g2p_model.h"

namespace attend::models {

struct G2PModelSpec {
  std::string architecture = "transformer";  // the only one so far
  G2PConfig transformer;
};

io::Metadata g2p_metadata(const G2PModelSpec& spec);
// ValueError naming `path` and the key when the metadata is not a G2P model's.
G2PModelSpec g2p_spec_from_metadata(const io::Metadata& metadata, const std::string& path);

// A freshly initialized model (weights drawn from `generator`).
std::unique_ptr<G2PModel<float>> make_g2p_model(const G2PModelSpec& spec, Generator& generator);
// The model saved in `path` (model.safetensors or checkpoint.safetensors), in evaluation mode.
std::unique_ptr<G2PModel<float>> load_g2p_model(const std::string& path);

}  // namespace attend::models
