#include "attend/models/bert_gguf.h"

#include <filesystem>
#include <fstream>

#include "attend/core/error.h"
#include "attend/gguf/gguf_file.h"
#include "attend/gguf/gguf_writer.h"
#include "attend/gguf/quant_types.h"
#include "attend/models/bert_loader.h"
#include "io/json_file.h"
#include "models/quantized_gguf.h"

namespace attend::models {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFilePrefix = "attend.file.";
constexpr const char* kBertArchitecture = "bert";
constexpr const char* kClassifierArchitecture = "attend.text-classifier";
constexpr const char* kEncoderPrefix = "bert.";  // TextClassifier's name of its BertModel

// The small files a sentence encoder reads, relative to its directory (the Pooling module's
// config.json from modules.json).
std::vector<std::string> encoder_files(const ModelTexts& texts) {
  std::vector<std::string> files = {"config.json", "vocab.txt", "tokenizer_config.json", "modules.json",
                                    "sentence_bert_config.json"};
  if (const std::optional<std::string> modules = texts("modules.json")) {
    const nlohmann::json list = io::parse_json(*modules, "modules.json");
    if (list.is_array()) {
      for (const nlohmann::json& module : list) {
        const bool pooling = module.is_object() && module.contains("type") && module["type"].is_string() &&
                             module["type"].get<std::string>().ends_with(".Pooling");
        if (pooling && module.contains("path") && module["path"].is_string()) {
          files.push_back(module["path"].get<std::string>() + "/config.json");
        }
      }
    }
  }
  return files;
}

}  // namespace

void write_bert_gguf(const std::string& directory, quant::QuantFormat format, const std::string& out, bool overwrite) {
  // The whole encoder first (tokenizer, pooling and its configuration checked), so that only a
  // model that loads is written.
  SentenceEncoder encoder = SentenceEncoder::from_directory(directory);
  const BertModel<float>& model = encoder.model();
  const ModelTexts texts = directory_texts(directory);
  gguf::Writer writer;
  writer.add_string("general.architecture", kBertArchitecture);
  writer.add_string("general.name", fs::path(directory).lexically_normal().filename().string());
  writer.add_string("attend.weights", quant::quant_format_name(format));
  for (const std::string& file : encoder_files(texts)) {
    if (const std::optional<std::string> text = texts(file)) writer.add_string(kFilePrefix + file, *text);
  }
  add_parameters(writer, model, format,
                 [](const std::string& name) { return BertModel<float>::is_quantized_projection(name); });
  writer.write(out, overwrite);
}

bool is_gguf_file(const std::string& path) {
  std::error_code error;
  if (!fs::is_regular_file(path, error)) return false;
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return static_cast<bool>(in.read(magic, 4)) && std::string_view(magic, 4) == "GGUF";
}

bool is_bert_gguf_file(const std::string& path) { return has_architecture(path, kBertArchitecture); }

SentenceEncoder load_sentence_encoder_gguf(const std::string& path) {
  const gguf::File file = gguf::File::open(path);
  const quant::QuantFormat format = attend_weights(file, kBertArchitecture, "a BERT encoder");
  const ModelTexts texts = [&file](const std::string& relative) -> std::optional<std::string> {
    if (file.find(kFilePrefix + relative) == nullptr) return std::nullopt;
    return file.string(kFilePrefix + relative);
  };
  const std::optional<std::string> config_text = texts("config.json");
  ATTEND_CHECK(config_text.has_value(), ValueError, "'{}' carries no config.json ({}config.json)", path, kFilePrefix);
  std::unique_ptr<BertModel<float>> model = load_bert_model(parse_bert_config(*config_text, path + ": config.json"),
                                                            io::SafetensorsFile(path, float_tensors(file), {}));
  model->quantize(format, [&](const std::string& name) { return stored_blocks(file, format, name); });
  return SentenceEncoder::from_texts(texts, std::move(model), path);
}

SentenceEncoder load_sentence_encoder(const std::string& path) {
  return is_gguf_file(path) ? load_sentence_encoder_gguf(path) : SentenceEncoder::from_directory(path);
}

void write_text_classifier_gguf(const std::string& checkpoint, quant::QuantFormat format, const std::string& out,
                                bool overwrite) {
  const io::SafetensorsFile file = io::load_safetensors(checkpoint);
  const std::unique_ptr<TextClassifier> model = load_text_classifier(file);  // every check of a checkpoint
  ATTEND_CHECK(model->config().encoder == "bert", ValueError,
               "'{}' is a classifier with a {} encoder from scratch; attend quantize takes one over a pretrained BERT "
               "encoder (train classify --arch minilm-*)",
               checkpoint, model->config().encoder);
  gguf::Writer writer;
  writer.add_string("general.architecture", kClassifierArchitecture);
  writer.add_string("attend.weights", quant::quant_format_name(format));
  for (const auto& [key, value] : file.metadata()) writer.add_string(kMetadataPrefix + key, value);
  add_parameters(writer, *model, format, [](const std::string& name) {
    return name.starts_with(kEncoderPrefix) &&
           BertModel<float>::is_quantized_projection(name.substr(std::string_view(kEncoderPrefix).size()));
  });
  writer.write(out, overwrite);
}

bool is_text_classifier_gguf_file(const std::string& path) { return has_architecture(path, kClassifierArchitecture); }

std::unique_ptr<TextClassifier> load_text_classifier_gguf(const std::string& path) {
  const gguf::File file = gguf::File::open(path);
  const quant::QuantFormat format = attend_weights(file, kClassifierArchitecture, "a text classifier");
  std::unique_ptr<TextClassifier> model =
      load_text_classifier(io::SafetensorsFile(path, float_tensors(file), attend_metadata(file)));
  model->quantize(format, [&](const std::string& name) { return stored_blocks(file, format, kEncoderPrefix + name); });
  model->eval();
  return model;
}

std::unique_ptr<TextClassifier> load_text_classifier_file(const std::string& path) {
  if (is_gguf_file(path)) return load_text_classifier_gguf(path);
  return load_text_classifier(io::load_safetensors(path));
}

}  // namespace attend::models
