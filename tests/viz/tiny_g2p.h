// A G2P Transformer small enough for a test to build in a millisecond: 2 + 2 layers, 2 heads.
#pragma once

#include "attend/models/g2p.h"

namespace attend::viz {

inline models::G2PConfig tiny_g2p_config(int64_t max_length) {
  models::G2PConfig config;
  config.model_dim = 16;
  config.num_heads = 2;
  config.encoder_layers = config.decoder_layers = 2;
  config.feedforward_dim = 32;
  config.max_length = max_length;
  return config;
}

}  // namespace attend::viz
