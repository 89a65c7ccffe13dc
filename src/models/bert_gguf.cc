#include "attend/models/bert_gguf.h"

#include <filesystem>
#include <fstream>

#include "attend/core/error.h"
#include "attend/gguf/gguf_file.h"
#include "attend/gguf/gguf_writer.h"
#include "attend/gguf/quant_types.h"
#include "attend/models/bert_loader.h"
#include "io/json_file.h"

namespace attend::models {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFilePrefix = "attend.file.";
constexpr const char* kMetadataPrefix = "attend.meta.";
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

// The file's blocks of a projection, when it stored them in `format`.
std::optional<quant::QuantizedMatrix> stored_blocks(const gguf::File& file, quant::QuantFormat format,
                                                    const std::string& name) {
  const gguf::TensorInfo* info = file.find_tensor(name);
  if (info == nullptr || !gguf::quant_format_of(info->type)) return std::nullopt;  // F32: quantized at load
  ATTEND_CHECK(info->type == gguf::tensor_type_of(format), ValueError,
               "{}: tensor '{}' is {} but the file's attend.weights says {}", file.path(), name,
               gguf::tensor_type_name(info->type), quant::quant_format_name(format));
  const Shape shape = info->shape();
  ATTEND_CHECK(shape.size() == 2, ValueError, "{}: tensor '{}' of {} has shape {}, not a matrix", file.path(), name,
               gguf::tensor_type_name(info->type), shape_string(shape));
  return quant::QuantizedMatrix::from_ggml_blocks(format, shape[0], shape[1], file.bytes(*info),
                                                  file.path() + ": " + name);
}

// general.architecture of a GGUF file, "" when it has none or not as a string.
std::string architecture_of(const gguf::File& file) {
  const gguf::Value* value = file.find("general.architecture");
  return value != nullptr && value->type == gguf::ValueType::kString ? file.string("general.architecture") : "";
}

bool has_architecture(const std::string& path, std::string_view architecture) {
  return is_gguf_file(path) && architecture_of(gguf::File::open(path)) == architecture;
}

// The projections' format of a file that attend quantize wrote as `architecture`; ValueError
// saying what the file should be (`what`) otherwise.
quant::QuantFormat attend_weights(const gguf::File& file, std::string_view architecture, std::string_view what) {
  ATTEND_CHECK(architecture_of(file) == architecture && file.find("attend.weights") != nullptr, ValueError,
               "'{}' is not {} written by `attend quantize` (general.architecture '{}' and attend.weights)",
               file.path(), what, architecture);
  return quant::parse_quant_format(file.string("attend.weights"));
}

// Every parameter of `module`: the BERT projections under `encoder_prefix` (BertModel's own
// names after it) in `format`'s blocks, the rest F32.
void add_parameters(gguf::Writer& writer, const nn::Module<float>& module, quant::QuantFormat format,
                    const std::string& encoder_prefix) {
  for (const auto& [name, parameter] : module.named_parameters()) {
    const bool projection = name.starts_with(encoder_prefix) &&
                            BertModel<float>::is_quantized_projection(name.substr(encoder_prefix.size()));
    if (projection) {
      const quant::QuantizedMatrix blocks = quant::QuantizedMatrix::quantize(format, parameter, name);
      writer.add_tensor(name, gguf::tensor_type_of(format), parameter.shape(), blocks.to_ggml_blocks());
    } else {
      writer.add_f32_tensor(name, parameter);
    }
  }
}

// Every tensor of `file` in float32 (the projections widened: the float weights a model keeps
// beside its blocks).
io::NamedTensors float_tensors(const gguf::File& file) {
  io::NamedTensors tensors;
  for (const gguf::TensorInfo& info : file.tensors()) tensors.emplace_back(info.name, file.dequantize(info));
  return tensors;
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
  add_parameters(writer, model, format, "");
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
  add_parameters(writer, *model, format, kEncoderPrefix);
  writer.write(out, overwrite);
}

bool is_text_classifier_gguf_file(const std::string& path) { return has_architecture(path, kClassifierArchitecture); }

std::unique_ptr<TextClassifier> load_text_classifier_gguf(const std::string& path) {
  const gguf::File file = gguf::File::open(path);
  const quant::QuantFormat format = attend_weights(file, kClassifierArchitecture, "a text classifier");
  io::Metadata metadata;
  for (const auto& [key, value] : file.metadata()) {
    if (key.starts_with(kMetadataPrefix)) metadata[key.substr(std::string(kMetadataPrefix).size())] = file.string(key);
  }
  std::unique_ptr<TextClassifier> model =
      load_text_classifier(io::SafetensorsFile(path, float_tensors(file), metadata));
  model->quantize(format, [&](const std::string& name) { return stored_blocks(file, format, kEncoderPrefix + name); });
  model->eval();
  return model;
}

std::unique_ptr<TextClassifier> load_text_classifier_file(const std::string& path) {
  if (is_gguf_file(path)) return load_text_classifier_gguf(path);
  return load_text_classifier(io::load_safetensors(path));
}

}  // namespace attend::models
