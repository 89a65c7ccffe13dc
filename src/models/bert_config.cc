// config.json of a BERT-family model, and the parameters it implies.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "attend/core/error.h"
#include "attend/models/bert.h"
#include "attend/models/parameter_table.h"
#include "io/json_file.h"

namespace attend::models {
namespace {

using nlohmann::json;

// Integer field `key` in [low, high]; absent: `fallback` when given, else an error.
int64_t read_integer(const json& config, const std::string& path, const char* key, int64_t low, int64_t high,
                     std::optional<int64_t> fallback = std::nullopt) {
  if (!config.contains(key) || config[key].is_null()) {
    ATTEND_CHECK(fallback.has_value(), ValueError, "{}: '{}' is missing", path, key);
    return *fallback;
  }
  const json& value = config[key];
  ATTEND_CHECK(value.is_number_integer() && value.get<int64_t>() >= low && value.get<int64_t>() <= high, ValueError,
               "{}: '{}' = {} is not an integer in [{}, {}]", path, key, value.dump(), low, high);
  return value.get<int64_t>();
}

double read_number(const json& config, const std::string& path, const char* key, double low, double high,
                   double fallback) {
  if (!config.contains(key) || config[key].is_null()) return fallback;
  const json& value = config[key];
  ATTEND_CHECK(value.is_number() && value.get<double>() >= low && value.get<double>() <= high, ValueError,
               "{}: '{}' = {} is not a number in [{}, {}]", path, key, value.dump(), low, high);
  return value.get<double>();
}

// String field `key`, which must be one of `allowed` when present.
std::string read_choice(const json& config, const std::string& path, const char* key,
                        const std::vector<std::string>& allowed, const std::string& fallback) {
  if (!config.contains(key) || config[key].is_null()) return fallback;
  const json& value = config[key];
  ATTEND_CHECK(value.is_string(), ValueError, "{}: '{}' must be a string, not {}", path, key, io::json_kind(value));
  const std::string text = value.get<std::string>();
  ATTEND_CHECK(std::find(allowed.begin(), allowed.end(), text) != allowed.end(), ValueError,
               "{}: '{}' = \"{}\" is not supported (attend computes {})", path, key, text, fmt::join(allowed, ", "));
  return text;
}

}  // namespace

BertConfig parse_bert_config(std::string_view text, const std::string& path) {
  const json config = io::parse_json(text, path);
  ATTEND_CHECK(config.is_object(), ValueError, "{}: expected a JSON object, not {}", path, io::json_kind(config));
  read_choice(config, path, "model_type", {"bert"}, "bert");
  read_choice(config, path, "position_embedding_type", {"absolute"}, "absolute");
  BertConfig c;
  c.vocab_size = read_integer(config, path, "vocab_size", 1, 1 << 24);
  c.hidden_size = read_integer(config, path, "hidden_size", 1, 1 << 16);
  c.num_layers = read_integer(config, path, "num_hidden_layers", 1, 1024);
  c.num_heads = read_integer(config, path, "num_attention_heads", 1, 1024);
  ATTEND_CHECK(c.hidden_size % c.num_heads == 0, ValueError,
               "{}: num_attention_heads = {} does not divide hidden_size = {}", path, c.num_heads, c.hidden_size);
  c.intermediate_size = read_integer(config, path, "intermediate_size", 1, 1 << 18);
  c.max_positions = read_integer(config, path, "max_position_embeddings", 1, 1 << 20);
  c.type_vocab_size = read_integer(config, path, "type_vocab_size", 1, 1 << 10, 2);
  c.layer_norm_eps = read_number(config, path, "layer_norm_eps", 0, 1, 1e-12);
  // 0 would divide by a zero variance (a constant row) and turn the output into NaN.
  ATTEND_CHECK(c.layer_norm_eps > 0, ValueError, "{}: 'layer_norm_eps' = {} is not a number in (0, 1]", path,
               c.layer_norm_eps);
  c.hidden_dropout = read_number(config, path, "hidden_dropout_prob", 0, 0.999, 0.1);
  c.attention_dropout = read_number(config, path, "attention_probs_dropout_prob", 0, 0.999, 0.1);
  c.activation = read_choice(config, path, "hidden_act", {"gelu", "relu"}, "gelu") == "relu" ? BertActivation::kRelu
                                                                                             : BertActivation::kGelu;
  return c;
}

BertConfig load_bert_config(const std::string& path) { return parse_bert_config(io::read_small_file(path), path); }

std::string describe(const BertConfig& c) {
  return fmt::format(
      "vocab_size={}, hidden_size={}, num_hidden_layers={}, num_attention_heads={}, intermediate_size={}, "
      "max_position_embeddings={}, type_vocab_size={}{}",
      c.vocab_size, c.hidden_size, c.num_layers, c.num_heads, c.intermediate_size, c.max_positions, c.type_vocab_size,
      c.pooler ? ", with pooler" : ", without pooler");
}

io::TensorTable bert_parameter_table(const BertConfig& c) {
  io::TensorTable table;
  const int64_t e = c.hidden_size;
  add_embedding(table, "embeddings.word_embeddings.", c.vocab_size, e);
  add_embedding(table, "embeddings.position_embeddings.", c.max_positions, e);
  add_embedding(table, "embeddings.token_type_embeddings.", c.type_vocab_size, e);
  add_layer_norm(table, "embeddings.LayerNorm.", e);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string layer = fmt::format("encoder.layer.{}.", l);
    for (const char* projection : {"query", "key", "value"}) {
      add_linear(table, layer + "attention.self." + projection + ".", e, e);
    }
    add_linear(table, layer + "attention.output.dense.", e, e);
    add_layer_norm(table, layer + "attention.output.LayerNorm.", e);
    add_linear(table, layer + "intermediate.dense.", e, c.intermediate_size);
    add_linear(table, layer + "output.dense.", c.intermediate_size, e);
    add_layer_norm(table, layer + "output.LayerNorm.", e);
  }
  if (c.pooler) add_linear(table, "pooler.dense.", e, e);
  return table;
}

}  // namespace attend::models
