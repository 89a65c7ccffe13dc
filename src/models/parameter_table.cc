#include "attend/models/parameter_table.h"

#include <utility>

namespace attend::models {
namespace {

constexpr int64_t kGruGates = 3;  // reset, update, new (nn/recurrent.h)

// nn::MultiHeadAttention with num_kv_heads == num_heads: four E x E projections with biases.
void add_attention(io::TensorTable& table, const std::string& prefix, int64_t model_dim) {
  for (const char* projection : {"query", "key", "value", "output"}) {
    add_linear(table, prefix + projection + ".", model_dim, model_dim);
  }
}

// nn::FeedForward: E -> F -> E; feedforward_dim 0 means 4 E, as nn::TransformerEncoderLayer reads it.
void add_feedforward(io::TensorTable& table, const std::string& prefix, const nn::TransformerLayerConfig& config) {
  const int64_t hidden = config.feedforward_dim > 0 ? config.feedforward_dim : 4 * config.model_dim;
  add_linear(table, prefix + "input.", config.model_dim, hidden);
  add_linear(table, prefix + "output.", hidden, config.model_dim);
}

void add_gru_weights(io::TensorTable& table, const std::string& prefix, const std::string& suffix, int64_t in,
                     int64_t hidden) {
  add_parameter(table, prefix + "weight_ih" + suffix, {kGruGates * hidden, in});
  add_parameter(table, prefix + "weight_hh" + suffix, {kGruGates * hidden, hidden});
  add_parameter(table, prefix + "bias_ih" + suffix, {kGruGates * hidden});
  add_parameter(table, prefix + "bias_hh" + suffix, {kGruGates * hidden});
}

}  // namespace

void add_parameter(io::TensorTable& table, const std::string& name, Shape shape) {
  table.push_back({name, io::DType::kF32, std::move(shape)});
}

void add_linear(io::TensorTable& table, const std::string& prefix, int64_t in, int64_t out) {
  add_parameter(table, prefix + "weight", {out, in});
  add_parameter(table, prefix + "bias", {out});
}

void add_layer_norm(io::TensorTable& table, const std::string& prefix, int64_t dim) {
  add_parameter(table, prefix + "weight", {dim});
  add_parameter(table, prefix + "bias", {dim});
}

void add_embedding(io::TensorTable& table, const std::string& prefix, int64_t rows, int64_t dim) {
  add_parameter(table, prefix + "weight", {rows, dim});
}

void add_conv2d(io::TensorTable& table, const std::string& prefix, int64_t in, int64_t out, int64_t kernel) {
  add_parameter(table, prefix + "weight", {out, in, kernel, kernel});
  add_parameter(table, prefix + "bias", {out});
}

void add_gru_cell(io::TensorTable& table, const std::string& prefix, int64_t in, int64_t hidden) {
  add_gru_weights(table, prefix, "", in, hidden);
}

void add_gru(io::TensorTable& table, const std::string& prefix, int64_t in, int64_t hidden, bool bidirectional) {
  add_gru_weights(table, prefix, "_l0", in, hidden);
  if (bidirectional) add_gru_weights(table, prefix, "_l0_reverse", in, hidden);
}

void add_encoder_layer(io::TensorTable& table, const std::string& prefix, const nn::TransformerLayerConfig& config) {
  add_attention(table, prefix + "self_attention.", config.model_dim);
  add_feedforward(table, prefix + "feedforward.", config);
  add_layer_norm(table, prefix + "norm_attention.", config.model_dim);
  add_layer_norm(table, prefix + "norm_feedforward.", config.model_dim);
}

void add_decoder_layer(io::TensorTable& table, const std::string& prefix, const nn::TransformerLayerConfig& config) {
  add_attention(table, prefix + "self_attention.", config.model_dim);
  add_attention(table, prefix + "cross_attention.", config.model_dim);
  add_feedforward(table, prefix + "feedforward.", config);
  add_layer_norm(table, prefix + "norm_self.", config.model_dim);
  add_layer_norm(table, prefix + "norm_cross.", config.model_dim);
  add_layer_norm(table, prefix + "norm_feedforward.", config.model_dim);
}

}  // namespace attend::models
