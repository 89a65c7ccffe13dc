// The parameters that the nn modules our models are built of register, by name and shape, from
// their configuration alone: what a model's checkpoint must hold, known before the model is built
// (and its parameters allocated). Each function appends what the module of that name registers,
// in the order named_parameters() gives; tests/models/parameter_table_test.cc builds every model
// and checks that its table is exactly named_parameters().
//
// Only the configurations the models use are covered: linear layers with a bias, attention with
// as many key/value heads as query heads and no relative positions.
#pragma once

#include <cstdint>
#include <string>

#include "attend/io/tensor_table.h"
#include "attend/nn/transformer.h"

namespace attend::models {

// Appends the F32 parameter `name` of `shape`.
void add_parameter(io::TensorTable& table, const std::string& name, Shape shape);

// Each `prefix` is the module's name with its dot ("encoder.0."), as named_parameters() joins them.
void add_linear(io::TensorTable& table, const std::string& prefix, int64_t in,
                int64_t out);                                                         // weight (out, in), bias (out)
void add_layer_norm(io::TensorTable& table, const std::string& prefix, int64_t dim);  // weight, bias (dim)
void add_embedding(io::TensorTable& table, const std::string& prefix, int64_t rows, int64_t dim);  // weight (rows, dim)
// weight (out, in, kernel, kernel), bias (out)
void add_conv2d(io::TensorTable& table, const std::string& prefix, int64_t in, int64_t out, int64_t kernel);
// nn::GRUCell (weight_ih (3H, in), weight_hh (3H, H), bias_ih, bias_hh (3H)), and nn::GRU of one
// layer, whose reverse direction has the same with the suffix "_l0_reverse".
void add_gru_cell(io::TensorTable& table, const std::string& prefix, int64_t in, int64_t hidden);
void add_gru(io::TensorTable& table, const std::string& prefix, int64_t in, int64_t hidden, bool bidirectional);

// nn::TransformerEncoderLayer and nn::TransformerDecoderLayer of `config`.
void add_encoder_layer(io::TensorTable& table, const std::string& prefix, const nn::TransformerLayerConfig& config);
void add_decoder_layer(io::TensorTable& table, const std::string& prefix, const nn::TransformerLayerConfig& config);

}  // namespace attend::models
