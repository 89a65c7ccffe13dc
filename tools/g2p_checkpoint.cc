#include "g2p_checkpoint.h"

#include "attend/core/error.h"
#include "attend/core/random.h"

namespace attend::tools {
namespace {

int64_t metadata_integer(const io::Metadata& metadata, const std::string& key, const std::string& path) {
  const auto found = metadata.find(key);
  ATTEND_CHECK(found != metadata.end(), ValueError, "'{}' is not a G2P checkpoint: its metadata has no '{}'", path, key);
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(found->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  ATTEND_CHECK(used == found->second.size() && value > 0 && value <= 1 << 16, ValueError,
               "'{}': metadata '{}' = '{}' is not an integer in [1, 65536]", path, key, found->second);
  return value;
}

}  // namespace

io::Metadata g2p_metadata(const models::G2PConfig& c) {
  return {{"task", "g2p"},
          {"model_dim", std::to_string(c.model_dim)},
          {"num_heads", std::to_string(c.num_heads)},
          {"layers", std::to_string(c.encoder_layers)},
          {"feedforward_dim", std::to_string(c.feedforward_dim)},
          {"max_length", std::to_string(c.max_length)},
          {"norm_first", c.norm_first ? "1" : "0"}};
}

std::unique_ptr<models::G2PTransformer<float>> load_g2p_checkpoint(const std::string& path) {
  const io::SafetensorsFile file = io::load_safetensors(path);
  const io::Metadata& metadata = file.metadata();
  ATTEND_CHECK(metadata.count("task") == 1 && metadata.at("task") == "g2p", ValueError,
               "'{}' is not a G2P checkpoint (its metadata has no task = g2p)", path);
  models::G2PConfig config;
  config.model_dim = metadata_integer(metadata, "model_dim", path);
  config.num_heads = metadata_integer(metadata, "num_heads", path);
  config.encoder_layers = config.decoder_layers = metadata_integer(metadata, "layers", path);
  config.feedforward_dim = metadata_integer(metadata, "feedforward_dim", path);
  config.max_length = metadata_integer(metadata, "max_length", path);
  config.norm_first = metadata.count("norm_first") == 1 && metadata.at("norm_first") == "1";
  Generator generator(0);
  auto model = std::make_unique<models::G2PTransformer<float>>(config, models::letter_vocabulary().size(),
                                                               models::phoneme_vocabulary().size(), generator);
  io::load_module(path, *model);
  model->eval();
  return model;
}

}  // namespace attend::tools
