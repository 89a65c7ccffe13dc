// Sentence embeddings from a pretrained BERT-family encoder, as sentence-transformers computes
// them (Reimers & Gurevych 2019, "Sentence-BERT"):
//
//   ids = tokenizer(text), cut to max_length tokens          ([CLS] ... [SEP], n_s tokens)
//   h = BertModel(ids).last_hidden_state                      (T, E), packed
//   e_s = pool(h[rows of s])                                  (E)   mean, first token ([CLS]) or max
//   e_s = e_s / sqrt(|e_s|^2 + 1e-24)                         when the model normalizes
//
// A model directory is what sentence-transformers saves: config.json, model.safetensors,
// vocab.txt, tokenizer_config.json, and optionally modules.json (its Pooling module's folder holds
// config.json with pooling_mode_*; a Normalize module asks for L2 normalization) and
// sentence_bert_config.json (max_seq_length). A plain transformers directory (no modules.json)
// gets mean pooling without normalization.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attend/core/tensor.h"
#include "attend/models/bert.h"
#include "attend/text/bert_tokenizer.h"

namespace attend::models {

enum class SentencePooling { kMean, kClassifierToken, kMax };

struct SentenceEncoderConfig {
  SentencePooling pooling = SentencePooling::kMean;
  bool normalize = false;
  int64_t max_length = 512;  // tokens per text, [CLS] and [SEP] included
};

// Reads modules.json, the Pooling module's config.json and sentence_bert_config.json from
// `directory` (each optional, as above). ValueError naming the file for a pooling this does not
// compute (mean_sqrt_len, weighted, several modes at once) or a max_seq_length outside
// [2, bert.max_positions].
SentenceEncoderConfig load_sentence_encoder_config(const std::string& directory, const BertConfig& bert);

// The small text files of a model (config.json, vocab.txt, tokenizer_config.json, modules.json,
// sentence_bert_config.json, 1_Pooling/config.json, ...) by their path relative to it: nullopt
// for a file the model does not have. A directory's files, or those a quantized GGUF file carries
// (models/bert_gguf.h).
using ModelTexts = std::function<std::optional<std::string>(const std::string& relative)>;
ModelTexts directory_texts(const std::string& directory);
// load_sentence_encoder_config's reading of `texts`; `source` names the model in messages.
SentenceEncoderConfig sentence_encoder_config(const ModelTexts& texts, const BertConfig& bert,
                                              const std::string& source);

// hidden (T, E) packed as `lengths` -> (B, E): each sequence's rows pooled.
template <typename T>
Tensor<T> pool_sequences(const Tensor<T>& hidden, const std::vector<int64_t>& lengths, SentencePooling pooling);
// x (B, E) -> (B, E): every row divided by sqrt(|row|^2 + 1e-24) (zero rows stay zero).
template <typename T>
Tensor<T> normalize_rows(const Tensor<T>& x);

struct SentenceEmbeddings {
  Tensor<float> vectors;           // (N, E), in the order of the texts
  std::vector<int64_t> truncated;  // the texts cut to max_length, by index
};

class SentenceEncoder {
 public:
  // ValueError when the tokenizer's vocabulary has more tokens than the model has embeddings.
  SentenceEncoder(text::BertTokenizer tokenizer, std::unique_ptr<BertModel<float>> model, SentenceEncoderConfig config);
  static SentenceEncoder from_directory(const std::string& directory);
  // The tokenizer (vocab.txt, tokenizer_config.json) and sentence-transformers' configuration of
  // `texts` around `model`.
  static SentenceEncoder from_texts(const ModelTexts& texts, std::unique_ptr<BertModel<float>> model,
                                    const std::string& source);

  // Each text's [CLS] ... [SEP] ids, cut to max_length (Encoding::truncated says which).
  std::vector<text::Encoding> encode(const std::vector<std::string>& texts) const;
  // Embeddings of `texts`, batch_size texts packed per forward pass. A text's vector is bitwise
  // the same whatever the batch size, its neighbours and the thread count. `progress` (optional)
  // hears (texts done, texts in all) after every batch.
  SentenceEmbeddings embed(const std::vector<std::string>& texts, int64_t batch_size = 32,
                           const std::function<void(int64_t, int64_t)>& progress = {});
  // Embeddings (B, E) of encodings packed in one forward pass.
  Tensor<float> embed_encodings(const std::vector<text::Encoding>& encodings);

  const text::BertTokenizer& tokenizer() const { return tokenizer_; }
  BertModel<float>& model() { return *model_; }
  const SentenceEncoderConfig& config() const { return config_; }
  int64_t dimension() const { return model_->config().hidden_size; }

 private:
  text::BertTokenizer tokenizer_;
  std::unique_ptr<BertModel<float>> model_;
  SentenceEncoderConfig config_;
};

}  // namespace attend::models
