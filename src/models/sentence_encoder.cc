// Sentence embeddings (the math is in models/sentence_encoder.h) and the sentence-transformers
// files that configure them.
#include "attend/models/sentence_encoder.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/models/bert_loader.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/reduction.h"
#include "attend/ops/shape_ops.h"
#include "attend/text/vocabulary.h"
#include "io/json_file.h"

namespace attend::models {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

bool file_exists(const fs::path& path) {
  std::error_code error;
  return fs::exists(path, error);
}

// `relative` of `texts` parsed, ValueError naming it in `source` when it is not JSON.
json parse_text(const ModelTexts& texts, const std::string& relative, const std::string& source) {
  return io::parse_json(*texts(relative), source + "/" + relative);
}

// The Pooling module's folder and whether a Normalize module follows, from modules.json.
struct Modules {
  std::string pooling_folder;  // "" when there is no Pooling module
  bool normalize = false;
};

Modules read_modules(const json& list, const std::string& path) {
  Modules modules;
  ATTEND_CHECK(list.is_array(), ValueError, "{}: expected a list of modules, not {}", path, io::json_kind(list));
  for (const json& module : list) {
    ATTEND_CHECK(module.is_object() && module.contains("type") && module["type"].is_string(), ValueError,
                 "{}: every module needs a \"type\" string, got {}", path, module.dump());
    const std::string type = module["type"].get<std::string>();
    const std::string folder =
        module.contains("path") && module["path"].is_string() ? module["path"].get<std::string>() : "";
    if (type.ends_with(".Pooling")) modules.pooling_folder = folder;
    if (type.ends_with(".Normalize")) modules.normalize = true;
  }
  return modules;
}

bool flag(const json& config, const char* key) {
  return config.contains(key) && config[key].is_boolean() && config[key].get<bool>();
}

SentencePooling read_pooling(const json& config, const std::string& path) {
  ATTEND_CHECK(config.is_object(), ValueError, "{}: expected a JSON object", path);
  for (const char* unsupported :
       {"pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"}) {
    ATTEND_CHECK(!flag(config, unsupported), ValueError, "{}: '{}' is not a pooling attend computes (mean, cls, max)",
                 path, unsupported);
  }
  const bool mean = flag(config, "pooling_mode_mean_tokens"), cls = flag(config, "pooling_mode_cls_token"),
             max = flag(config, "pooling_mode_max_tokens");
  ATTEND_CHECK(
      mean + cls + max == 1, ValueError,
      "{}: exactly one of pooling_mode_mean_tokens, pooling_mode_cls_token and pooling_mode_max_tokens must be "
      "true (attend does not concatenate poolings)",
      path);
  return mean ? SentencePooling::kMean : cls ? SentencePooling::kClassifierToken : SentencePooling::kMax;
}

}  // namespace

ModelTexts directory_texts(const std::string& directory) {
  return [directory](const std::string& relative) -> std::optional<std::string> {
    const fs::path path = fs::path(directory) / relative;
    if (!file_exists(path)) return std::nullopt;
    return io::read_small_file(path.string());
  };
}

SentenceEncoderConfig sentence_encoder_config(const ModelTexts& texts, const BertConfig& bert,
                                              const std::string& source) {
  SentenceEncoderConfig config;
  config.max_length = bert.max_positions;
  if (texts("modules.json")) {
    const Modules modules = read_modules(parse_text(texts, "modules.json", source), source + "/modules.json");
    config.normalize = modules.normalize;
    if (!modules.pooling_folder.empty()) {
      const std::string pooling = modules.pooling_folder + "/config.json";
      ATTEND_CHECK(texts(pooling).has_value(), ValueError, "{}: modules.json names a Pooling module, but {} is missing",
                   source, pooling);
      config.pooling = read_pooling(parse_text(texts, pooling, source), source + "/" + pooling);
    }
  }
  if (texts("sentence_bert_config.json")) {
    const std::string where = source + "/sentence_bert_config.json";
    const json values = parse_text(texts, "sentence_bert_config.json", source);
    if (values.is_object() && values.contains("max_seq_length") && !values["max_seq_length"].is_null()) {
      const json& length = values["max_seq_length"];
      ATTEND_CHECK(
          length.is_number_integer() && length.get<int64_t>() >= 2 && length.get<int64_t>() <= bert.max_positions,
          ValueError, "{}: 'max_seq_length' = {} is not an integer in [2, {}] (max_position_embeddings)", where,
          length.dump(), bert.max_positions);
      config.max_length = length.get<int64_t>();
    }
  }
  return config;
}

SentenceEncoderConfig load_sentence_encoder_config(const std::string& directory, const BertConfig& bert) {
  return sentence_encoder_config(directory_texts(directory), bert, directory);
}

template <typename T>
Tensor<T> pool_sequences(const Tensor<T>& hidden, const std::vector<int64_t>& lengths, SentencePooling pooling) {
  ATTEND_CHECK(hidden.rank() == 2, ShapeError, "pool_sequences: hidden {} must be (T, E)",
               shape_string(hidden.shape()));
  std::vector<Tensor<T>> pooled;  // (E) each
  int64_t begin = 0;
  for (const int64_t n : lengths) {
    ATTEND_CHECK(n >= 1 && begin + n <= hidden.size(0), ValueError,
                 "pool_sequences: lengths do not fit hidden {} (sequence of {} tokens at row {})",
                 shape_string(hidden.shape()), n, begin);
    const Tensor<T> rows = hidden.slice(0, begin, begin + n);  // (n, E)
    pooled.push_back(pooling == SentencePooling::kMean  ? mean(rows, {0})
                     : pooling == SentencePooling::kMax ? max(rows, 0)
                                                        : rows.slice(0, 0, 1).squeeze(0));
    begin += n;
  }
  ATTEND_CHECK(begin == hidden.size(0), ValueError, "pool_sequences: the lengths sum to {} but hidden {} has {} rows",
               begin, shape_string(hidden.shape()), hidden.size(0));
  if (pooled.empty()) return Tensor<T>::zeros({0, hidden.size(1)});
  return stack(pooled, 0);
}

template <typename T>
Tensor<T> normalize_rows(const Tensor<T>& x) {
  // x / sqrt(|x|^2 + 1e-24)
  return div(x, sqrt(add_scalar(sum(square(x), {-1}, true), T(1e-24))));
}

SentenceEncoder::SentenceEncoder(text::BertTokenizer tokenizer, std::unique_ptr<BertModel<float>> model,
                                 SentenceEncoderConfig config)
    : tokenizer_(std::move(tokenizer)), model_(std::move(model)), config_(config) {
  // An embedding table may be padded past the vocabulary (to a multiple of 64 or 128 rows), by far
  // less than 1/64 of it; a vocabulary shorter than that is another model's, whose ids would all
  // be wrong (1,000 lines for MiniLM's 30,522 rows: nearly every word [UNK]).
  const int64_t tokens = tokenizer_.vocabulary().size(), rows = model_->config().vocab_size;
  ATTEND_CHECK(tokens <= rows && rows - tokens <= rows / 64, ValueError,
               "SentenceEncoder: the vocabulary has {} tokens for the model's {} embeddings (vocab_size): they do "
               "not belong together (the table may exceed the vocabulary by padding, at most {} rows)",
               tokens, rows, rows / 64);
  ATTEND_CHECK(config_.max_length >= 2 && config_.max_length <= model_->config().max_positions, ValueError,
               "SentenceEncoder: max_length {} is outside [2, {}]", config_.max_length, model_->config().max_positions);
}

SentenceEncoder SentenceEncoder::from_directory(const std::string& directory) {
  return from_texts(directory_texts(directory), load_bert_model(directory), directory);
}

SentenceEncoder SentenceEncoder::from_texts(const ModelTexts& texts, std::unique_ptr<BertModel<float>> model,
                                            const std::string& source) {
  SentenceEncoderConfig config = sentence_encoder_config(texts, model->config(), source);
  const auto required = [&](const std::string& relative) {
    std::optional<std::string> text = texts(relative);
    ATTEND_CHECK(text.has_value(), ValueError, "{}: {} is missing", source, relative);
    return *text;
  };
  text::BertTokenizer tokenizer(
      text::parse_vocabulary(required("vocab.txt"), source + "/vocab.txt"),
      text::parse_bert_tokenizer_config(required("tokenizer_config.json"), source + "/tokenizer_config.json"));
  // Without sentence_bert_config.json's max_seq_length, the tokenizer's own limit applies, as in
  // sentence-transformers (tokenizer_config.json's model_max_length, within the positions).
  if (!texts("sentence_bert_config.json") && tokenizer.config().model_max_length) {
    const int64_t limit = *tokenizer.config().model_max_length;
    ATTEND_CHECK(limit >= 2, ValueError,
                 "{}/tokenizer_config.json: model_max_length = {} leaves no room for [CLS] and [SEP]", source, limit);
    config.max_length = std::min(config.max_length, limit);
  }
  return SentenceEncoder(std::move(tokenizer), std::move(model), config);
}

std::vector<text::Encoding> SentenceEncoder::encode(const std::vector<std::string>& texts) const {
  text::EncodeOptions options;
  options.max_length = config_.max_length;
  options.truncate = true;
  std::vector<text::Encoding> encodings;
  encodings.reserve(texts.size());
  for (const std::string& text : texts) encodings.push_back(tokenizer_.encode(text, options));
  return encodings;
}

Tensor<float> SentenceEncoder::embed_encodings(const std::vector<text::Encoding>& encodings) {
  NoGradGuard no_grad;
  const PackedTokens tokens = pack_encodings(encodings);
  const Tensor<float> hidden = model_->forward(tokens).last_hidden_state;  // (T, E)
  const Tensor<float> pooled = pool_sequences(hidden, tokens.lengths, config_.pooling);
  return config_.normalize ? normalize_rows(pooled) : pooled;
}

SentenceEmbeddings SentenceEncoder::embed(const std::vector<std::string>& texts, int64_t batch_size,
                                          const std::function<void(int64_t, int64_t)>& progress) {
  ATTEND_CHECK(batch_size >= 1, ValueError, "SentenceEncoder::embed: batch_size must be >= 1, got {}", batch_size);
  SentenceEmbeddings result;
  std::vector<Tensor<float>> batches;
  const auto total = static_cast<int64_t>(texts.size());
  for (int64_t begin = 0; begin < total; begin += batch_size) {
    const int64_t end = std::min(total, begin + batch_size);
    const std::vector<text::Encoding> encodings =
        encode(std::vector<std::string>(texts.begin() + begin, texts.begin() + end));
    for (int64_t i = 0; i < end - begin; ++i) {
      if (encodings[i].truncated) result.truncated.push_back(begin + i);
    }
    batches.push_back(embed_encodings(encodings));
    if (progress) progress(end, total);
  }
  result.vectors = batches.empty() ? Tensor<float>::zeros({0, dimension()}) : concat(batches, 0);
  return result;
}

template Tensor<float> pool_sequences(const Tensor<float>&, const std::vector<int64_t>&, SentencePooling);
template Tensor<double> pool_sequences(const Tensor<double>&, const std::vector<int64_t>&, SentencePooling);
template Tensor<float> normalize_rows(const Tensor<float>&);
template Tensor<double> normalize_rows(const Tensor<double>&);

}  // namespace attend::models
