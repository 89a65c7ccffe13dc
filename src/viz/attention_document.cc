#include "attend/viz/attention_document.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "attend/core/error.h"

namespace attend::viz {
namespace {

using Json = nlohmann::json;

std::vector<std::string> index_labels(int64_t count) {
  std::vector<std::string> labels;
  for (int64_t i = 0; i < count; ++i) labels.push_back(std::to_string(i));
  return labels;
}

std::vector<std::string> sized(const std::vector<std::string>& tokens, int64_t count) {
  return static_cast<int64_t>(tokens.size()) == count ? tokens : index_labels(count);
}

// JSON numbers with 6 decimals: enough for a picture, and a third of the text of full floats.
double rounded(float w) { return std::round(static_cast<double>(w) * 1e6) / 1e6; }

const Json& field(const Json& object, const char* key, const std::string& where) {
  ATTEND_CHECK(object.is_object() && object.contains(key), ValueError, "attention JSON: {} has no \"{}\"", where, key);
  return object.at(key);
}

std::vector<std::string> string_list(const Json& object, const char* key, bool required) {
  if (!required && !object.contains(key)) return {};
  const Json& list = field(object, key, "the document");
  ATTEND_CHECK(list.is_array(), ValueError, "attention JSON: \"{}\" must be an array of strings", key);
  std::vector<std::string> out;
  for (const Json& item : list) {
    ATTEND_CHECK(item.is_string(), ValueError, "attention JSON: \"{}\" holds {}, not a string", key, item.dump());
    out.push_back(item.get<std::string>());
  }
  return out;
}

int64_t positive(const Json& map, const char* key, const std::string& where) {
  const Json& value = field(map, key, where);
  ATTEND_CHECK(value.is_number_integer() && value.get<int64_t>() > 0, ValueError,
               "attention JSON: {} \"{}\" must be a positive integer, got {}", where, key, value.dump());
  return value.get<int64_t>();
}

AttentionMap parse_map(const Json& item, size_t index) {
  const std::string where = fmt::format("attentions[{}]", index);
  AttentionMap map;
  const Json& name = field(item, "name", where);
  ATTEND_CHECK(name.is_string(), ValueError, "attention JSON: {} \"name\" must be a string", where);
  map.name = name.get<std::string>();
  const Json& kind = field(item, "kind", where);
  ATTEND_CHECK(kind.is_string(), ValueError, "attention JSON: {} \"kind\" must be a string", where);
  map.kind = attention_kind_from_name(kind.get<std::string>());
  const Json& layer = field(item, "layer", where);
  ATTEND_CHECK(layer.is_number_integer() && layer.get<int64_t>() >= -1, ValueError,
               "attention JSON: {} \"layer\" must be an integer >= -1", where);
  map.layer = layer.get<int64_t>();
  map.heads = positive(item, "heads", where);
  map.rows = positive(item, "rows", where);
  map.cols = positive(item, "cols", where);
  const Json& weights = field(item, "weights", where);
  ATTEND_CHECK(weights.is_array() && static_cast<int64_t>(weights.size()) == map.heads, ValueError,
               "attention JSON: {} \"weights\" must hold {} heads", where, map.heads);
  for (int64_t h = 0; h < map.heads; ++h) {
    const Json& matrix = weights[h];
    ATTEND_CHECK(matrix.is_array() && static_cast<int64_t>(matrix.size()) == map.rows, ValueError,
                 "attention JSON: {} head {} must hold {} rows", where, h, map.rows);
    for (int64_t i = 0; i < map.rows; ++i) {
      const Json& row = matrix[i];
      ATTEND_CHECK(row.is_array() && static_cast<int64_t>(row.size()) == map.cols, ValueError,
                   "attention JSON: {} head {} row {} must hold {} numbers", where, h, i, map.cols);
      for (const Json& w : row) {
        ATTEND_CHECK(w.is_number() && w.get<double>() >= 0 && w.get<double>() <= 1, ValueError,
                     "attention JSON: {} head {} row {} holds {}, not a weight in [0, 1]", where, h, i, w.dump());
        map.weights.push_back(w.get<float>());
      }
    }
  }
  return map;
}

}  // namespace

std::vector<float> AttentionMap::mean_over_heads() const {
  std::vector<double> sum(rows * cols, 0.0);
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t k = 0; k < rows * cols; ++k) sum[k] += weights[h * rows * cols + k];
  }
  std::vector<float> mean(rows * cols);
  for (int64_t k = 0; k < rows * cols; ++k) mean[k] = static_cast<float>(sum[k] / heads);
  return mean;
}

std::vector<const AttentionMap*> AttentionDocument::of_kind(AttentionKind kind) const {
  std::vector<const AttentionMap*> found;
  for (const auto& map : attentions) {
    if (map.kind == kind) found.push_back(&map);
  }
  return found;
}

AttentionDocument make_document(const AttentionCapture& capture, std::string model,
                                std::vector<std::string> source_tokens, std::vector<std::string> target_tokens,
                                int64_t batch_index) {
  AttentionDocument document{std::move(model), std::move(source_tokens), std::move(target_tokens), {}, {}};
  for (const AttentionRecord& record : capture.records()) {
    ATTEND_CHECK(batch_index >= 0 && batch_index < record.batch, ValueError,
                 "make_document: batch item {} outside the batch of {} in '{}'", batch_index, record.batch,
                 record.name);
    AttentionMap map{record.name, record.kind, record.layer, record.heads, record.rows, record.cols, {}};
    for (int64_t h = 0; h < record.heads; ++h) {
      const std::vector<float> head = record.head_matrix(batch_index, h);
      map.weights.insert(map.weights.end(), head.begin(), head.end());
    }
    document.attentions.push_back(std::move(map));
  }
  return document;
}

std::vector<std::string> row_labels(const AttentionDocument& document, const AttentionMap& map) {
  const bool source = map.kind == AttentionKind::kEncoderSelf || map.kind == AttentionKind::kOther;
  return sized(source ? document.source_tokens : document.target_tokens, map.rows);
}

std::vector<std::string> column_labels(const AttentionDocument& document, const AttentionMap& map) {
  const bool target = map.kind == AttentionKind::kDecoderSelf;
  return sized(target ? document.target_tokens : document.source_tokens, map.cols);
}

std::string to_json(const AttentionDocument& document) {
  Json attentions = Json::array();
  for (const AttentionMap& map : document.attentions) {
    Json heads = Json::array();
    for (int64_t h = 0; h < map.heads; ++h) {
      Json matrix = Json::array();
      for (int64_t i = 0; i < map.rows; ++i) {
        Json row = Json::array();
        for (int64_t j = 0; j < map.cols; ++j) row.push_back(rounded(map.head(h)[i * map.cols + j]));
        matrix.push_back(std::move(row));
      }
      heads.push_back(std::move(matrix));
    }
    attentions.push_back({{"name", map.name},
                          {"kind", attention_kind_name(map.kind)},
                          {"layer", map.layer},
                          {"heads", map.heads},
                          {"rows", map.rows},
                          {"cols", map.cols},
                          {"weights", std::move(heads)}});
  }
  Json root = {
      {"model", document.model}, {"source_tokens", document.source_tokens}, {"target_tokens", document.target_tokens}};
  if (!document.predicted_tokens.empty()) root["predicted_tokens"] = document.predicted_tokens;
  root["attentions"] = std::move(attentions);
  return root.dump();
}

AttentionDocument parse_attention_json(const std::string& text) {
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Json::parse_error& e) {
    fail<ValueError>("attention JSON: not valid JSON: {}", e.what());
  }
  AttentionDocument document;
  const Json& model = field(root, "model", "the document");
  ATTEND_CHECK(model.is_string(), ValueError, "attention JSON: \"model\" must be a string");
  document.model = model.get<std::string>();
  document.source_tokens = string_list(root, "source_tokens", true);
  document.target_tokens = string_list(root, "target_tokens", true);
  document.predicted_tokens = string_list(root, "predicted_tokens", false);
  const Json& attentions = field(root, "attentions", "the document");
  ATTEND_CHECK(attentions.is_array(), ValueError, "attention JSON: \"attentions\" must be an array");
  for (size_t i = 0; i < attentions.size(); ++i) document.attentions.push_back(parse_map(attentions[i], i));
  return document;
}

}  // namespace attend::viz
