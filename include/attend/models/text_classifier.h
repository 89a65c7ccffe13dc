// Text classifiers with attention: WordPiece ids -> an encoder -> pooling -> a linear head.
//
//   encoder  "gru":          embedding (V, E) -> bidirectional GRU, H per direction   (B, L, 2H)
//            "transformer":  embedding + learned positions (E) -> pre-norm encoder layers (B, L, E)
//            "bert":         a pretrained BERT-family encoder on the packed tokens (no padding
//                            FLOPs), its rows placed back into a padded batch         (B, L, E)
//   pooling  "attention":    a learned query scores every token; softmax over each text's tokens
//                            (nn::AttentionPooling, kLearnedQuery; padding never attended)
//            "mean":         the mean of each text's token states (the ablation)
//            "cls":          the first token's state ([CLS])
//   head     dropout, then Linear(D, classes)                                          (B, C)
//
// A batch is a list of encodings of different lengths; L is the longest. Every text's logits are
// independent of the other texts in its batch (padding is masked everywhere).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attend/core/random.h"
#include "attend/core/tensor.h"
#include "attend/io/safetensors.h"
#include "attend/models/bert.h"
#include "attend/nn/attention_pooling.h"
#include "attend/nn/dropout.h"
#include "attend/nn/embedding.h"
#include "attend/nn/layer_norm.h"
#include "attend/nn/linear.h"
#include "attend/nn/module.h"
#include "attend/nn/recurrent.h"
#include "attend/nn/transformer.h"
#include "attend/text/bert_tokenizer.h"

namespace attend::models {

struct TextClassifierConfig {
  std::string encoder = "gru";        // gru | transformer | bert
  std::string pooling = "attention";  // attention | mean | cls
  int64_t classes = 3;
  int64_t vocabulary = 30522;     // gru, transformer: the WordPiece vocabulary's size
  int64_t embedding_dim = 128;    // E (gru, transformer)
  int64_t hidden = 128;           // gru: H per direction
  int64_t layers = 2;             // transformer
  int64_t heads = 4;              // transformer
  int64_t feedforward_dim = 256;  // transformer
  int64_t max_length = 128;       // transformer: positions; every encoder: tokens a text may have
  double dropout = 0.1;
  // The model's tokenizer (vocab.txt, tokenizer_config.json) and, for bert, its encoder's
  // architecture (config.json), as those files read when the model was built, verbatim
  // (read_classifier_files). Checkpoints store them: a checkpoint needs no other file, names no
  // path, and a vocab.txt changed elsewhere cannot change its token ids. And the classes' names.
  std::string vocabulary_text;
  std::string tokenizer_config_text;
  std::string bert_config_text;          // bert only
  std::vector<std::string> class_names;  // empty: "class 0", "class 1", ...
};

// ValueError naming the field for an unknown encoder or pooling, or a size below 1.
void check_text_classifier_config(const TextClassifierConfig& config);

struct TextClassification {
  Tensor<float> logits;   // (B, C)
  Tensor<float> weights;  // (B, L): the attention pooling's weights (attention pooling only)
};

class TextClassifier : public nn::Module<float> {
 public:
  // A model from scratch (encoder gru or transformer), parameters drawn from `generator`.
  TextClassifier(const TextClassifierConfig& config, Generator& generator);
  // Over a pretrained encoder (config.encoder "bert"); the pooling and head are drawn.
  TextClassifier(const TextClassifierConfig& config, std::shared_ptr<BertModel<float>> bert, Generator& generator);

  // encodings: each [CLS] ... [SEP] (1 <= length <= max_length) -> logits (B, C).
  TextClassification forward(const std::vector<text::Encoding>& encodings);

  // The pretrained encoder's projections in `format` (BertModel::quantize; the embeddings, norms,
  // pooling and head stay float32), for inference. ValueError for a model from scratch (gru,
  // transformer), whose encoders have no quantized path.
  void quantize(quant::QuantFormat format);
  // The same with a file's stored blocks, `stored` asked by the encoder's own parameter names
  // (BertModel::quantize).
  void quantize(quant::QuantFormat format, const StoredBlocks& stored);

  const TextClassifierConfig& config() const { return config_; }
  // The model's description for checkpoints ("task": "classify", the config's fields).
  io::Metadata metadata() const;

 private:
  Tensor<float> encode(const std::vector<text::Encoding>& encodings, const MaskTensor& padding);  // (B, L, D)
  void add_head(int64_t width, Generator& generator);

  TextClassifierConfig config_;
  std::shared_ptr<nn::Embedding<float>> embedding_, positions_;
  std::shared_ptr<nn::GRU<float>> gru_;
  std::vector<std::shared_ptr<nn::TransformerEncoderLayer<float>>> layers_;
  std::shared_ptr<nn::LayerNorm<float>> final_norm_;
  std::shared_ptr<BertModel<float>> bert_;
  std::shared_ptr<nn::AttentionPooling<float>> pooling_;
  std::shared_ptr<nn::Dropout<float>> dropout_;
  std::shared_ptr<nn::Linear<float>> head_;
};

// Reads a Hugging Face model directory's vocab.txt and tokenizer_config.json, and for the bert
// encoder its config.json, into the config's texts.
void read_classifier_files(TextClassifierConfig& config, const std::string& directory);

// The tokenizer the config's texts describe. ValueError naming `source` when they are missing or
// its vocabulary does not fit the model: gru and transformer embed exactly `vocabulary` ids, bert
// at most its config's vocab_size.
text::BertTokenizer classifier_tokenizer(const TextClassifierConfig& config, const std::string& source);

// The configuration a checkpoint's metadata describes (TextClassifier::metadata); ValueError
// naming the file when it is not a text classifier's ("task" is not "classify"). An older
// checkpoint that names the directories of those files instead of holding them
// (classify.tokenizer_directory, classify.bert_directory) reads them from there.
TextClassifierConfig text_classifier_config_of(const io::Metadata& metadata, const std::string& source);

// The classifier a checkpoint (model.safetensors or checkpoint.safetensors of attend train
// classify) describes, every parameter read from it; for bert, the architecture is the stored
// config.json's, and every encoder tensor is checked against it before anything is allocated.
std::unique_ptr<TextClassifier> load_text_classifier(const io::SafetensorsFile& checkpoint);

}  // namespace attend::models
