// G2P checkpoints: the model's shape in the safetensors metadata, so that `attend g2p` and
// `attend viz` can rebuild the model that `attend train g2p --out` saved.
#pragma once

#include <memory>
#include <string>

#include "attend/io/safetensors.h"
#include "attend/models/g2p.h"

namespace attend::tools {

io::Metadata g2p_metadata(const models::G2PConfig& config);

// The model of a checkpoint whose metadata says task = g2p, in evaluation mode. Throws
// io::IoError when the file cannot be read, ValueError when it is not a G2P checkpoint.
std::unique_ptr<models::G2PTransformer<float>> load_g2p_checkpoint(const std::string& path);

}  // namespace attend::tools
