#include "attend/models/text_classifier.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "attend/core/error.h"
#include "attend/io/metadata_numbers.h"
#include "attend/io/tensor_table.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/indexing.h"
#include "attend/ops/reduction.h"
#include "attend/ops/shape_ops.h"
#include "attend/text/vocabulary.h"
#include "io/json_file.h"

namespace attend::models {
namespace {

// (B, L) padding mask of a batch (1 past each text's end) and L.
MaskTensor padding_of(const std::vector<text::Encoding>& encodings, int64_t longest) {
  const int64_t batch = static_cast<int64_t>(encodings.size());
  MaskTensor padding = MaskTensor::zeros({batch, longest});  // (B, L)
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = static_cast<int64_t>(encodings[b].ids.size()); t < longest; ++t)
      padding.data()[b * longest + t] = 1;
  }
  return padding;
}

// (B, L) ids, padded with 0 (masked everywhere they could matter).
IndexTensor padded_ids(const std::vector<text::Encoding>& encodings, int64_t longest) {
  const int64_t batch = static_cast<int64_t>(encodings.size());
  IndexTensor ids = IndexTensor::zeros({batch, longest});  // (B, L)
  for (int64_t b = 0; b < batch; ++b) {
    std::copy(encodings[b].ids.begin(), encodings[b].ids.end(), ids.data() + b * longest);
  }
  return ids;
}

// Packed rows (T, E) -> padded (B, L, E), zeros where padded: row t of text b is packed row
// offset_b + t; the padding rows read an extra zero row appended at T. Differentiable.
Tensor<float> unpack(const Tensor<float>& packed, const std::vector<text::Encoding>& encodings, int64_t longest) {
  const int64_t rows = packed.size(0), width = packed.size(1), batch = static_cast<int64_t>(encodings.size());
  const Tensor<float> with_zero = concat<float>({packed, Tensor<float>::zeros({1, width})}, 0);  // (T + 1, E)
  IndexTensor index = IndexTensor::full({batch, longest}, rows);                                 // (B, L)
  int64_t offset = 0;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t length = static_cast<int64_t>(encodings[b].ids.size());
    for (int64_t t = 0; t < length; ++t) index.data()[b * longest + t] = offset + t;
    offset += length;
  }
  return embedding(with_zero, index);  // (B, L, E)
}

}  // namespace

void check_text_classifier_config(const TextClassifierConfig& c) {
  static const std::set<std::string> encoders = {"gru", "transformer", "bert"}, poolings = {"attention", "mean", "cls"};
  ATTEND_CHECK(encoders.count(c.encoder) != 0, ValueError,
               "text classifier: unknown encoder '{}' (gru, transformer, bert)", c.encoder);
  ATTEND_CHECK(poolings.count(c.pooling) != 0, ValueError,
               "text classifier: unknown pooling '{}' (attention, mean, cls)", c.pooling);
  for (const auto& [name, value] : {std::pair{"classes", c.classes},
                                    {"vocabulary", c.vocabulary},
                                    {"embedding_dim", c.embedding_dim},
                                    {"hidden", c.hidden},
                                    {"layers", c.layers},
                                    {"heads", c.heads},
                                    {"feedforward_dim", c.feedforward_dim},
                                    {"max_length", c.max_length}}) {
    ATTEND_CHECK(value >= 1, ValueError, "text classifier: {} must be at least 1, got {}", name, value);
  }
  ATTEND_CHECK(c.classes >= 2, ValueError, "text classifier: classes must be at least 2, got {}", c.classes);
  ATTEND_CHECK(c.dropout >= 0 && c.dropout < 1, ValueError, "text classifier: dropout must be in [0, 1), got {}",
               c.dropout);
}

TextClassifier::TextClassifier(const TextClassifierConfig& config, Generator& generator) : config_(config) {
  check_text_classifier_config(config);
  ATTEND_CHECK(config.encoder != "bert", ValueError,
               "text classifier: the bert encoder is pretrained; build it over a loaded BertModel");
  embedding_ = register_module(
      "embedding", std::make_shared<nn::Embedding<float>>(config.vocabulary, config.embedding_dim, generator));
  int64_t width = config.embedding_dim;
  if (config.encoder == "gru") {
    gru_ = register_module("gru", std::make_shared<nn::GRU<float>>(
                                      nn::RecurrentConfig{config.embedding_dim, config.hidden, true, true}, generator));
    width = 2 * config.hidden;
  } else {
    positions_ = register_module(
        "positions", std::make_shared<nn::Embedding<float>>(config.max_length, config.embedding_dim, generator));
    nn::TransformerLayerConfig layer;
    layer.model_dim = config.embedding_dim;
    layer.num_heads = config.heads;
    layer.feedforward_dim = config.feedforward_dim;
    layer.dropout = config.dropout;
    layer.activation = nn::Activation::kGelu;
    layer.norm_first = true;
    for (int64_t i = 0; i < config.layers; ++i) {
      layers_.push_back(register_module(fmt::format("layers.{}", i),
                                        std::make_shared<nn::TransformerEncoderLayer<float>>(layer, generator)));
    }
    final_norm_ = register_module("final_norm", std::make_shared<nn::LayerNorm<float>>(Shape{config.embedding_dim}));
  }
  add_head(width, generator);
}

TextClassifier::TextClassifier(const TextClassifierConfig& config, std::shared_ptr<BertModel<float>> bert,
                               Generator& generator)
    : config_(config) {
  check_text_classifier_config(config);
  ATTEND_CHECK(config.encoder == "bert" && bert != nullptr, ValueError,
               "text classifier: a pretrained encoder goes with encoder 'bert' (got '{}')", config.encoder);
  bert_ = register_module("bert", std::move(bert));
  config_.vocabulary = bert_->config().vocab_size;
  config_.max_length = std::min(config_.max_length, bert_->config().max_positions);
  add_head(bert_->config().hidden_size, generator);
}

void TextClassifier::add_head(int64_t width, Generator& generator) {
  if (config_.class_names.empty()) {
    for (int64_t c = 0; c < config_.classes; ++c) config_.class_names.push_back(fmt::format("class {}", c));
  }
  ATTEND_CHECK(static_cast<int64_t>(config_.class_names.size()) == config_.classes, ValueError,
               "text classifier: {} class names for {} classes", config_.class_names.size(), config_.classes);
  if (config_.pooling == "attention") {
    pooling_ = register_module(
        "pooling", std::make_shared<nn::AttentionPooling<float>>(PoolingMode::kLearnedQuery, width, generator));
  }
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout<float>>(config_.dropout, generator));
  head_ = register_module("head", std::make_shared<nn::Linear<float>>(width, config_.classes, true, generator));
}

Tensor<float> TextClassifier::encode(const std::vector<text::Encoding>& encodings, const MaskTensor& padding) {
  const int64_t longest = padding.size(1);
  if (bert_) return unpack(bert_->forward(pack_encodings(encodings)).last_hidden_state, encodings, longest);
  const IndexTensor ids = padded_ids(encodings, longest);              // (B, L)
  Tensor<float> x = embedding_->forward(ids);                          // (B, L, E)
  if (gru_) return gru_->forward(x, Tensor<float>(), padding).output;  // (B, L, 2H)
  x = add(x, positions_->forward(IndexTensor::arange(longest)));       // + (L, E)
  x = dropout_->forward(x);
  for (const auto& layer : layers_) x = layer->forward(x, padding);
  return final_norm_->forward(x);  // (B, L, E)
}

TextClassification TextClassifier::forward(const std::vector<text::Encoding>& encodings) {
  ATTEND_CHECK(!encodings.empty(), ValueError, "text classifier: an empty batch");
  int64_t longest = 0;
  for (size_t b = 0; b < encodings.size(); ++b) {
    const int64_t length = static_cast<int64_t>(encodings[b].ids.size());
    ATTEND_CHECK(length >= 1 && length <= config_.max_length, ValueError,
                 "text classifier: text {} of the batch has {} tokens; the model takes 1 to {}", b, length,
                 config_.max_length);
    longest = std::max(longest, length);
  }
  const MaskTensor padding = padding_of(encodings, longest);  // (B, L)
  const Tensor<float> states = encode(encodings, padding);    // (B, L, D)
  TextClassification result;
  Tensor<float> pooled;  // (B, D)
  if (config_.pooling == "attention") {
    AttentionPoolingResult<float> attention = pooling_->forward(states, padding);
    pooled = attention.output;
    result.weights = attention.weights;
  } else if (config_.pooling == "cls") {
    pooled = states.slice(1, 0, 1).reshape({states.size(0), states.size(2)});
  } else {
    // Padded rows are zero for bert (unpack) and masked out here for the others: sum / length.
    const int64_t batch = states.size(0);
    Tensor<float> keep = Tensor<float>::empty({batch, longest, 1});  // (B, L, 1)
    Tensor<float> lengths = Tensor<float>::empty({batch, 1});        // (B, 1)
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t t = 0; t < longest; ++t)
        keep.data()[b * longest + t] = padding.data()[b * longest + t] ? 0.0f : 1.0f;
      lengths.data()[b] = static_cast<float>(encodings[b].ids.size());
    }
    pooled = div(sum(mul(states, keep), {1}), lengths);
  }
  result.logits = head_->forward(dropout_->forward(pooled));  // (B, C)
  return result;
}

void TextClassifier::quantize(quant::QuantFormat format) { quantize(format, StoredBlocks()); }

void TextClassifier::quantize(quant::QuantFormat format, const StoredBlocks& stored) {
  ATTEND_CHECK(bert_ != nullptr, ValueError,
               "quantized weights ({}) are for classifiers over a pretrained BERT encoder; this one's encoder is {}",
               quant::quant_format_name(format), config_.encoder);
  bert_->quantize(format, stored);
}

io::Metadata TextClassifier::metadata() const {
  const TextClassifierConfig& c = config_;
  return {{"task", "classify"},
          {"classify.encoder", c.encoder},
          {"classify.pooling", c.pooling},
          {"classify.classes", std::to_string(c.classes)},
          {"classify.vocabulary", std::to_string(c.vocabulary)},
          {"classify.embedding_dim", std::to_string(c.embedding_dim)},
          {"classify.hidden", std::to_string(c.hidden)},
          {"classify.layers", std::to_string(c.layers)},
          {"classify.heads", std::to_string(c.heads)},
          {"classify.feedforward_dim", std::to_string(c.feedforward_dim)},
          {"classify.max_length", std::to_string(c.max_length)},
          {"classify.dropout", fmt::format("{}", c.dropout)},
          {"classify.vocab_txt", c.vocabulary_text},
          {"classify.tokenizer_config_json", c.tokenizer_config_text},
          {"classify.bert_config_json", c.bert_config_text},
          {"classify.class_names", fmt::format("{}", fmt::join(c.class_names, ","))}};
}

void read_classifier_files(TextClassifierConfig& config, const std::string& directory) {
  ATTEND_CHECK(!directory.empty(), ValueError,
               "no all-MiniLM-L6-v2 was found (its vocabulary is the classifiers' tokenizer); run scripts/setup, or "
               "set ATTEND_MINILM");
  const std::filesystem::path dir(directory);
  config.vocabulary_text = io::read_small_file((dir / "vocab.txt").string(), text::kLargestVocabularyFile);
  config.tokenizer_config_text = io::read_small_file((dir / "tokenizer_config.json").string());
  config.bert_config_text = config.encoder == "bert" ? io::read_small_file((dir / "config.json").string()) : "";
}

text::BertTokenizer classifier_tokenizer(const TextClassifierConfig& c, const std::string& source) {
  ATTEND_CHECK(!c.vocabulary_text.empty() && !c.tokenizer_config_text.empty(), ValueError,
               "'{}' holds no tokenizer (classify.vocab_txt and classify.tokenizer_config_json)", source);
  text::BertTokenizer tokenizer(
      text::parse_vocabulary(c.vocabulary_text, source + ": classify.vocab_txt"),
      text::parse_bert_tokenizer_config(c.tokenizer_config_text, source + ": classify.tokenizer_config_json"));
  const int64_t size = tokenizer.vocabulary().size();
  if (c.encoder == "bert") {
    const int64_t rows = parse_bert_config(c.bert_config_text, source + ": classify.bert_config_json").vocab_size;
    ATTEND_CHECK(size <= rows, ValueError,
                 "'{}': its vocabulary has {} tokens, more than the {} rows of its encoder's embedding", source, size,
                 rows);
  } else {
    ATTEND_CHECK(size == c.vocabulary, ValueError,
                 "'{}': its vocabulary has {} tokens, but the model embeds {} (classify.vocabulary)", source, size,
                 c.vocabulary);
  }
  return tokenizer;
}

namespace {

// The texts of the tokenizer's and the encoder's files: held in the metadata, or (an older
// checkpoint) read from the directories it names.
void read_tokenizer_and_encoder(const io::Metadata& metadata, const std::string& source, TextClassifierConfig& c) {
  const auto entry = [&](const std::string& key) {
    const auto found = metadata.find("classify." + key);
    return found == metadata.end() ? std::optional<std::string>() : std::optional<std::string>(found->second);
  };
  if (const auto vocabulary = entry("vocab_txt")) {
    c.vocabulary_text = *vocabulary;
    c.tokenizer_config_text = entry("tokenizer_config_json").value_or("");
    c.bert_config_text = entry("bert_config_json").value_or("");
    ATTEND_CHECK(c.encoder != "bert" || !c.bert_config_text.empty(), ValueError,
                 "'{}' has no classify.bert_config_json in its metadata (the architecture of its encoder)", source);
    return;
  }
  const auto tokenizer_directory = entry("tokenizer_directory");
  ATTEND_CHECK(tokenizer_directory.has_value(), ValueError,
               "'{}' has no classify.vocab_txt in its metadata (its tokenizer's vocabulary)", source);
  if (tokenizer_directory->empty()) return;        // written without a tokenizer
  read_classifier_files(c, *tokenizer_directory);  // config.json too, for bert
  const auto bert_directory = entry("bert_directory");
  if (c.encoder == "bert" && bert_directory && !bert_directory->empty() && *bert_directory != *tokenizer_directory) {
    c.bert_config_text = io::read_small_file((std::filesystem::path(*bert_directory) / "config.json").string());
  }
}

}  // namespace

TextClassifierConfig text_classifier_config_of(const io::Metadata& metadata, const std::string& source) {
  const auto task = metadata.find("task");
  ATTEND_CHECK(task != metadata.end() && task->second == "classify", ValueError,
               "'{}' is not a text classifier (its task is '{}')", source,
               task == metadata.end() ? "none" : task->second);
  const auto text = [&](const std::string& key) {
    const auto found = metadata.find("classify." + key);
    ATTEND_CHECK(found != metadata.end(), ValueError, "'{}' has no classify.{} in its metadata", source, key);
    return found->second;
  };
  // Bounds far beyond attend train classify's options (tools/cli_checks.h): a checkpoint from
  // elsewhere cannot claim sizes that no model here has.
  const auto count = [&](const std::string& key, int64_t max) {
    return io::metadata_integer(metadata, "classify." + key, 1, max, source);
  };
  TextClassifierConfig c;
  c.encoder = text("encoder");
  c.pooling = text("pooling");
  c.classes = count("classes", 65'536);
  c.vocabulary = count("vocabulary", 1 << 24);
  c.embedding_dim = count("embedding_dim", 65'536);
  c.hidden = count("hidden", 65'536);
  c.layers = count("layers", 1'024);
  c.heads = count("heads", 1'024);
  c.feedforward_dim = count("feedforward_dim", 65'536);
  c.max_length = count("max_length", 1 << 20);
  c.dropout = io::metadata_real(metadata, "classify.dropout", 0, 1, source);
  read_tokenizer_and_encoder(metadata, source, c);
  for (size_t start = 0, comma = 0; comma != std::string::npos; start = comma + 1) {
    comma = text("class_names").find(',', start);
    c.class_names.push_back(text("class_names").substr(start, comma == std::string::npos ? comma : comma - start));
  }
  ATTEND_CHECK(static_cast<int64_t>(c.class_names.size()) == c.classes, ValueError,
               "'{}': {} class names for {} classes", source, c.class_names.size(), c.classes);
  check_text_classifier_config(c);
  return c;
}

namespace {

// The encoder's architecture: the stored config.json, with a pooler when the checkpoint has one
// (as load_bert_model decides from the weights).
BertConfig classifier_bert_config(const TextClassifierConfig& c, const io::SafetensorsFile& checkpoint) {
  BertConfig bert = parse_bert_config(c.bert_config_text, checkpoint.path() + ": classify.bert_config_json");
  bert.pooler = checkpoint.contains("bert.pooler.dense.weight") || checkpoint.contains("bert.pooler.dense.bias");
  return bert;
}

// Before a model is built from a checkpoint's metadata, each size it would allocate by (V x E,
// E x E, F x E, 3H x H, ...) must be the shape of a tensor that the file holds, so that a small
// file claiming a huge model is refused instead of allocated; load_module then checks every
// parameter. (The bert encoder's sizes come from its config.json, checked when it is read.)
void require_size_witnesses(const TextClassifierConfig& c, const io::SafetensorsFile& checkpoint) {
  if (c.encoder == "bert") {
    const BertConfig bert = classifier_bert_config(c, checkpoint);
    std::vector<std::string> problems;
    for (const io::TensorSpec& spec : bert_parameter_table(bert)) {
      const std::string name = "bert." + spec.name;
      if (!checkpoint.contains(name) || io::shape_of(checkpoint.at(name)) != spec.shape) {
        problems.push_back(fmt::format("it needs '{}' {}", name, shape_string(spec.shape)));
      }
    }
    ATTEND_CHECK(problems.empty(), ValueError,
                 "'{}' does not hold the text classifier its metadata describes (an encoder of {}): {}",
                 checkpoint.path(), describe(bert), io::join_problems(problems));
    return;
  }
  const int64_t E = c.embedding_dim, H = c.hidden, width = c.encoder == "gru" ? 2 * H : E;
  std::vector<std::pair<std::string, Shape>> witnesses = {{"embedding.weight", {c.vocabulary, E}},
                                                          {"head.weight", {c.classes, width}}};
  if (c.encoder == "gru") {
    witnesses.push_back({"gru.weight_ih_l0", {3 * H, E}});
    witnesses.push_back({"gru.weight_hh_l0", {3 * H, H}});
  } else {
    const std::string last = fmt::format("layers.{}.", c.layers - 1);
    witnesses.push_back({"positions.weight", {c.max_length, E}});
    witnesses.push_back({last + "self_attention.query.weight", {E, E}});
    witnesses.push_back({last + "feedforward.input.weight", {c.feedforward_dim, E}});
  }
  for (const auto& [name, shape] : witnesses) {
    const bool found = checkpoint.contains(name) && io::shape_of(checkpoint.at(name)) == shape;
    ATTEND_CHECK(found, ValueError, "'{}' does not hold the text classifier its metadata describes: it needs '{}' {}{}",
                 checkpoint.path(), name, shape_string(shape),
                 checkpoint.contains(name)
                     ? fmt::format(", the file has {}", shape_string(io::shape_of(checkpoint.at(name))))
                     : std::string(", which the file lacks"));
  }
}

}  // namespace

std::unique_ptr<TextClassifier> load_text_classifier(const io::SafetensorsFile& checkpoint) {
  const TextClassifierConfig config = text_classifier_config_of(checkpoint.metadata(), checkpoint.path());
  require_size_witnesses(config, checkpoint);
  Generator generator(0);
  std::unique_ptr<TextClassifier> model;
  {
    nn::SkipParameterInit skip;  // load_module below overwrites every parameter (or fails)
    if (config.encoder == "bert") {
      auto bert = std::make_shared<BertModel<float>>(classifier_bert_config(config, checkpoint), generator);
      model = std::make_unique<TextClassifier>(config, std::move(bert), generator);
    } else {
      model = std::make_unique<TextClassifier>(config, generator);
    }
  }
  io::load_module(checkpoint, *model, io::UnexpectedTensors::kReturnTrainingState);
  model->eval();
  return model;
}

}  // namespace attend::models
