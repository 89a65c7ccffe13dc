// Hugging Face BERT checkpoints into BertModel (the rules are in models/bert_loader.h).
#include "attend/models/bert_loader.h"

#include <filesystem>
#include <string_view>
#include <variant>

#include "attend/core/error.h"
#include "attend/core/log.h"
#include "attend/io/tensor_table.h"

namespace attend::models {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }
bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// "bert.encoder.layer.0.output.LayerNorm.gamma" -> "encoder.layer.0.output.LayerNorm.weight".
std::string bert_name(std::string name) {
  if (starts_with(name, "bert.")) name.erase(0, 5);
  if (ends_with(name, "LayerNorm.gamma")) name.replace(name.size() - 5, 5, "weight");
  if (ends_with(name, "LayerNorm.beta")) name.replace(name.size() - 4, 4, "bias");
  return name;
}

bool is_task_head(std::string_view name) { return starts_with(name, "cls.") || starts_with(name, "classifier."); }

std::string require_file(const std::filesystem::path& directory, const char* name) {
  const std::filesystem::path path = directory / name;
  std::error_code error;
  ATTEND_CHECK(std::filesystem::is_regular_file(path, error), io::IoError,
               "'{}' is not a BERT model directory: it has no {} (a Hugging Face model directory holds config.json, "
               "model.safetensors and vocab.txt)",
               directory.string(), name);
  return path.string();
}

}  // namespace

io::SafetensorsFile bert_tensors(const io::SafetensorsFile& file, std::vector<std::string>* dropped) {
  io::NamedTensors renamed;
  for (const auto& [name, tensor] : file.tensors()) {
    const std::string ours = bert_name(name);
    if (ours == "embeddings.position_ids" || is_task_head(name)) {
      if (dropped) dropped->push_back(name);
      continue;
    }
    // F64 weights are rounded to F32, the model's type, as PyTorch's load_state_dict copies them.
    if (const auto* doubles = std::get_if<Tensor<double>>(&tensor)) {
      renamed.emplace_back(ours, doubles->cast<float>());
    } else {
      renamed.emplace_back(ours, tensor);
    }
  }
  for (size_t i = 0; i < renamed.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      ATTEND_CHECK(renamed[i].first != renamed[j].first, ValueError,
                   "'{}' holds '{}' twice (with and without the 'bert.' prefix, or as gamma/beta and weight/bias)",
                   file.path(), renamed[i].first);
    }
  }
  return io::SafetensorsFile(file.path(), std::move(renamed), file.metadata());
}

std::unique_ptr<BertModel<float>> load_bert_model(BertConfig config, const io::SafetensorsFile& file) {
  std::vector<std::string> dropped;
  const io::SafetensorsFile tensors = bert_tensors(file, &dropped);
  for (const std::string& name : dropped) log_debug("load_bert_model: '{}': not part of BertModel, left out", name);
  config.pooler = tensors.contains("pooler.dense.weight") || tensors.contains("pooler.dense.bias");
  io::check_tensor_table(tensors, bert_parameter_table(config), "its config.json (" + describe(config) + ")");
  Generator generator(0);  // for the dropout seeds: every parameter is the file's
  std::unique_ptr<BertModel<float>> model;
  {
    nn::SkipParameterInit skip;  // check_tensor_table made sure the file has every parameter
    model = std::make_unique<BertModel<float>>(config, generator);
  }
  io::load_module(tensors, *model);
  model->eval();
  return model;
}

std::unique_ptr<BertModel<float>> load_bert_model(const std::string& directory) {
  const std::string config_path = require_file(directory, "config.json");
  const std::string weights_path = require_file(directory, "model.safetensors");
  return load_bert_model(load_bert_config(config_path), io::load_safetensors(weights_path));
}

}  // namespace attend::models
