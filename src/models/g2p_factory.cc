#include "attend/models/g2p_factory.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "attend/core/error.h"
#include "attend/models/bert_gguf.h"
#include "attend/models/g2p_gguf.h"
#include "attend/nn/linear.h"
#include "attend/quant/quantized_matrix.h"
#include "attend/models/parameter_table.h"

namespace attend::models {
namespace {

const std::string& metadata_value(const io::Metadata& metadata, const std::string& key, const std::string& path) {
  const auto found = metadata.find(key);
  ATTEND_CHECK(found != metadata.end(), ValueError, "'{}' is not a G2P checkpoint: its metadata has no '{}'", path,
               key);
  return found->second;
}

// True when all of `text` is one number.
template <typename N>
bool parse_whole(const std::string& text, N* value) {
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, *value);
  return error == std::errc() && stop == end;
}

// Bounds on the sizes a checkpoint may claim: those of attend train g2p's options
// (tools/cli_checks.h), and a max_length far beyond the longest word (34 letters).
constexpr int64_t kMaxWidth = 65'536;
constexpr int64_t kMaxHeads = 1'024;
constexpr int64_t kMaxLayers = 1'024;
constexpr int64_t kMaxLength = 1'024;

int64_t metadata_integer(const io::Metadata& metadata, const std::string& key, int64_t max, const std::string& path) {
  const std::string& text = metadata_value(metadata, key, path);
  int64_t value = 0;
  ATTEND_CHECK(parse_whole(text, &value) && value > 0 && value <= max, ValueError,
               "'{}': metadata '{}' = '{}' is not an integer in [1, {}]", path, key, text, max);
  return value;
}

// "1" or "0"; absent in checkpoints of post-norm models written before the key existed.
bool metadata_flag(const io::Metadata& metadata, const std::string& key, const std::string& path) {
  const auto found = metadata.find(key);
  if (found == metadata.end()) return false;
  ATTEND_CHECK(found->second == "0" || found->second == "1", ValueError, "'{}': metadata '{}' = '{}' is not 0 or 1",
               path, key, found->second);
  return found->second == "1";
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

// The parameters of G2PTransformer (models/g2p.h), in its constructor's order.
io::TensorTable transformer_parameter_table(const G2PConfig& c, int64_t letters, int64_t phonemes) {
  const int64_t e = c.model_dim;
  io::TensorTable table;
  add_parameter(table, "letter_embedding", {letters, e});
  add_parameter(table, "phoneme_embedding", {phonemes, e});
  const nn::TransformerLayerConfig layer{
      .model_dim = e, .num_heads = c.num_heads, .feedforward_dim = c.feedforward_dim};
  for (int64_t i = 0; i < c.encoder_layers; ++i) add_encoder_layer(table, fmt::format("encoder.{}.", i), layer);
  for (int64_t i = 0; i < c.decoder_layers; ++i) add_decoder_layer(table, fmt::format("decoder.{}.", i), layer);
  if (c.norm_first) {
    add_layer_norm(table, "encoder_norm.", e);
    add_layer_norm(table, "decoder_norm.", e);
  }
  add_linear(table, "output.", e, phonemes);
  return table;
}

// The parameters of G2PRecurrent (models/g2p_recurrent.h), in its constructor's order.
io::TensorTable recurrent_parameter_table(const G2PRecurrentConfig& c, int64_t letters, int64_t phonemes) {
  const int64_t e = c.embedding_dim, h = c.hidden_dim;
  io::TensorTable table;
  add_embedding(table, "letter_embedding.", letters, e);
  add_embedding(table, "phoneme_embedding.", phonemes, e);
  add_gru(table, "encoder.", e, h, /*bidirectional=*/true);
  add_linear(table, "bridge.", 2 * h, h);
  // nn::AdditiveScore(query H, key 2H, attention A = H).
  add_parameter(table, "attention.query_weight", {h, h});
  add_parameter(table, "attention.key_weight", {2 * h, h});
  add_parameter(table, "attention.score_weight", {h});
  add_gru_cell(table, "decoder.", e + 2 * h, h);
  add_linear(table, "output.", 3 * h, phonemes);
  if (c.alignment == AlignmentTraining::kVariationalEnum || c.alignment == AlignmentTraining::kVariationalReinforce) {
    add_gru(table, "inference.encoder.", e, h, /*bidirectional=*/true);
    add_parameter(table, "inference.score.weight", {2 * h, 2 * h});
  }
  return table;
}

// The metadata that decides the parameters' shapes, for an error message.
std::string describe_shapes(const G2PModelSpec& spec) {
  if (spec.architecture == "gru") {
    return fmt::format("its metadata (architecture=gru, embedding_dim={}, hidden_dim={})", spec.recurrent.embedding_dim,
                       spec.recurrent.hidden_dim);
  }
  const G2PConfig& c = spec.transformer;
  return fmt::format(
      "its metadata (architecture=transformer, model_dim={}, layers={}, feedforward_dim={}, norm_first={})",
      c.model_dim, c.encoder_layers, c.feedforward_dim, c.norm_first ? 1 : 0);
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
            {"dropout", fmt::format("{}", r.dropout)},
            {"alignment", alignment_training_name(r.alignment)},
            {"gumbel_temperature", fmt::format("{}", r.gumbel_temperature)}};
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
    r.embedding_dim = metadata_integer(metadata, "embedding_dim", kMaxWidth, path);
    r.hidden_dim = metadata_integer(metadata, "hidden_dim", kMaxWidth, path);
    r.max_length = metadata_integer(metadata, "max_length", kMaxLength, path);
    r.dropout = metadata_dropout(metadata, r.dropout, path);
    // Absent in checkpoints written before latent alignments: soft attention.
    if (const auto found = metadata.find("alignment"); found != metadata.end()) {
      const std::vector<std::string>& names = alignment_training_names();
      ATTEND_CHECK(std::find(names.begin(), names.end(), found->second) != names.end(), ValueError,
                   "'{}': metadata 'alignment' = '{}' is not one of {}", path, found->second, fmt::join(names, ", "));
      r.alignment = parse_alignment_training(found->second);
    }
    if (const auto found = metadata.find("gumbel_temperature"); found != metadata.end()) {
      ATTEND_CHECK(parse_whole(found->second, &r.gumbel_temperature) && std::isfinite(r.gumbel_temperature) &&
                       r.gumbel_temperature > 0,
                   ValueError, "'{}': metadata 'gumbel_temperature' = '{}' is not a number > 0", path, found->second);
    }
    return spec;
  }
  G2PConfig& c = spec.transformer;
  c.model_dim = metadata_integer(metadata, "model_dim", kMaxWidth, path);
  c.num_heads = metadata_integer(metadata, "num_heads", kMaxHeads, path);
  c.encoder_layers = c.decoder_layers = metadata_integer(metadata, "layers", kMaxLayers, path);
  c.feedforward_dim = metadata_integer(metadata, "feedforward_dim", kMaxWidth, path);
  c.max_length = metadata_integer(metadata, "max_length", kMaxLength, path);
  c.norm_first = metadata_flag(metadata, "norm_first", path);
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

io::TensorTable g2p_parameter_table(const G2PModelSpec& spec) {
  check_architecture(spec.architecture, "g2p_parameter_table");
  const int64_t letters = letter_vocabulary().size(), phonemes = phoneme_vocabulary().size();
  return spec.architecture == "gru" ? recurrent_parameter_table(spec.recurrent, letters, phonemes)
                                    : transformer_parameter_table(spec.transformer, letters, phonemes);
}

G2PModelSpec g2p_spec_from_checkpoint(const io::SafetensorsFile& file) {
  const G2PModelSpec spec = g2p_spec_from_metadata(file.metadata(), file.path());
  io::check_tensor_table(file, g2p_parameter_table(spec), describe_shapes(spec));
  return spec;
}

std::unique_ptr<G2PModel<float>> load_g2p_model(const io::SafetensorsFile& file) {
  Generator generator(0);
  std::unique_ptr<G2PModel<float>> model = make_g2p_model(g2p_spec_from_checkpoint(file), generator);
  io::load_module(file, *model, io::UnexpectedTensors::kReturnTrainingState);
  model->eval();
  return model;
}

std::unique_ptr<G2PModel<float>> load_g2p_model(const std::string& path) {
  ATTEND_CHECK(std::filesystem::exists(path), ValueError, "checkpoint '{}' does not exist", path);
  if (is_gguf_file(path)) return load_g2p_gguf(path);  // attend quantize's file
  return load_g2p_model(io::load_safetensors(path));
}

std::unique_ptr<G2PModel<float>> load_g2p_model(const io::SafetensorsFile& file, const std::string& weights) {
  std::unique_ptr<G2PModel<float>> model = load_g2p_model(file);
  if (weights != "float32") nn::quantize_linear_layers(*model, quant::parse_quant_format(weights));
  return model;
}

std::unique_ptr<G2PModel<float>> load_g2p_model(const std::string& path, const std::string& weights) {
  ATTEND_CHECK(std::filesystem::exists(path), ValueError, "checkpoint '{}' does not exist", path);
  if (!is_gguf_file(path)) return load_g2p_model(io::load_safetensors(path), weights);
  ATTEND_CHECK(weights == "float32", ValueError,
               "--weights {}: '{}' is already quantized (attend quantize wrote it); leave --weights out", weights,
               path);
  return load_g2p_gguf(path);
}

}  // namespace attend::models
