#include "attend/models/g2p_factory.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "attend/core/error.h"

namespace attend::models {
namespace {

const std::string& metadata_value(const io::Metadata& metadata, const std::string& key, const std::string& path) {
  const auto found = metadata.find(key);
  ATTEND_CHECK(found != metadata.end(), ValueError, "'{}' is not a G2P checkpoint: its metadata has no '{}'", path, key);
  return found->second;
}

// True when all of `text` is one number.
template <typename N>
bool parse_whole(const std::string& text, N* value) {
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, *value);
  return error == std::errc() && stop == end;
}

int64_t metadata_integer(const io::Metadata& metadata, const std::string& key, const std::string& path) {
  const std::string& text = metadata_value(metadata, key, path);
  int64_t value = 0;
  ATTEND_CHECK(parse_whole(text, &value) && value > 0 && value <= 1 << 16, ValueError,
               "'{}': metadata '{}' = '{}' is not an integer in [1, 65536]", path, key, text);
  return value;
}

// Dropout matters when a run resumes; metadata written before it was stored keeps the default.
double metadata_dropout(const io::Metadata& metadata, double fallback, const std::string& path) {
  const auto found = metadata.find("dropout");
  if (found == metadata.end()) return fallback;
  double value = -1;
  ATTEND_CHECK(parse_whole(found->second, &value) && value >= 0 && value < 1, ValueError,
               "'{}': metadata 'dropout' = '{}' is not a number in [0, 1)", path, found->second);
  return value;
}

void check_architecture(const std::string& architecture, const std::string& where) {
  const auto& known = g2p_architectures();
  ATTEND_CHECK(std::find(known.begin(), known.end(), architecture) != known.end(), ValueError,
               "{}: unknown G2P architecture '{}' (known: {})", where, architecture, fmt::join(known, ", "));
}

}  // namespace

const std::vector<std::string>& g2p_architectures() {
  static const std::vector<std::string> names = {"transformer", "gru"};
  return names;
}

io::Metadata g2p_metadata(const G2PModelSpec& spec) {
  check_architecture(spec.architecture, "g2p_metadata");
  if (spec.architecture == "gru") {
    const G2PRecurrentConfig& r = spec.recurrent;
    return {{"task", "g2p"},
            {"architecture", spec.architecture},
            {"embedding_dim", std::to_string(r.embedding_dim)},
            {"hidden_dim", std::to_string(r.hidden_dim)},
            {"max_length", std::to_string(r.max_length)},
            {"dropout", fmt::format("{}", r.dropout)}};
  }
  const G2PConfig& c = spec.transformer;
  return {{"task", "g2p"},
          {"architecture", spec.architecture},
          {"model_dim", std::to_string(c.model_dim)},
          {"num_heads", std::to_string(c.num_heads)},
          {"layers", std::to_string(c.encoder_layers)},
          {"feedforward_dim", std::to_string(c.feedforward_dim)},
          {"max_length", std::to_string(c.max_length)},
          {"norm_first", c.norm_first ? "1" : "0"},
          {"dropout", fmt::format("{}", c.dropout)}};
}

G2PModelSpec g2p_spec_from_metadata(const io::Metadata& metadata, const std::string& path) {
  ATTEND_CHECK(metadata.count("task") == 1 && metadata.at("task") == "g2p", ValueError,
               "'{}' is not a G2P checkpoint (its metadata has no task = g2p)", path);
  G2PModelSpec spec;
  // Checkpoints written before the architecture key existed hold Transformers.
  spec.architecture = metadata.count("architecture") == 1 ? metadata.at("architecture") : "transformer";
  check_architecture(spec.architecture, fmt::format("'{}'", path));
  if (spec.architecture == "gru") {
    G2PRecurrentConfig& r = spec.recurrent;
    r.embedding_dim = metadata_integer(metadata, "embedding_dim", path);
    r.hidden_dim = metadata_integer(metadata, "hidden_dim", path);
    r.max_length = metadata_integer(metadata, "max_length", path);
    r.dropout = metadata_dropout(metadata, r.dropout, path);
    return spec;
  }
  G2PConfig& c = spec.transformer;
  c.model_dim = metadata_integer(metadata, "model_dim", path);
  c.num_heads = metadata_integer(metadata, "num_heads", path);
  c.encoder_layers = c.decoder_layers = metadata_integer(metadata, "layers", path);
  c.feedforward_dim = metadata_integer(metadata, "feedforward_dim", path);
  c.max_length = metadata_integer(metadata, "max_length", path);
  c.norm_first = metadata.count("norm_first") == 1 && metadata.at("norm_first") == "1";
  c.dropout = metadata_dropout(metadata, c.dropout, path);
  ATTEND_CHECK(c.model_dim % c.num_heads == 0, ValueError, "'{}': model_dim {} is not a multiple of num_heads {}", path,
               c.model_dim, c.num_heads);
  return spec;
}

std::unique_ptr<G2PModel<float>> make_g2p_model(const G2PModelSpec& spec, Generator& generator) {
  const Vocabulary letters = letter_vocabulary(), phonemes = phoneme_vocabulary();
  check_architecture(spec.architecture, "make_g2p_model");
  if (spec.architecture == "gru") {
    return std::make_unique<G2PRecurrent<float>>(spec.recurrent, letters.size(), phonemes.size(), generator);
  }
  return std::make_unique<G2PTransformer<float>>(spec.transformer, letters.size(), phonemes.size(), generator);
}

std::unique_ptr<G2PModel<float>> load_g2p_model(const std::string& path) {
  ATTEND_CHECK(std::filesystem::exists(path), ValueError, "checkpoint '{}' does not exist", path);
  const io::SafetensorsFile file = io::load_safetensors(path);
  Generator generator(0);
  std::unique_ptr<G2PModel<float>> model = make_g2p_model(g2p_spec_from_metadata(file.metadata(), path), generator);
  io::load_module(path, *model, io::UnexpectedTensors::kReturn);
  model->eval();
  return model;
}

}  // namespace attend::models
