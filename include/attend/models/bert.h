// BERT-family encoders (Devlin et al. 2019, "BERT: Pre-training of deep bidirectional
// transformers"), as Hugging Face transformers' BertModel computes them, on packed batches:
//
//   x = LN(word[id] + position[p] + token_type[t])                 (T, E)  p counts from 0 in each sequence
//   for each layer (post-norm):
//     q, k, v = x W_q^T + b_q, x W_k^T + b_k, x W_v^T + b_v        (T, H, E / H) each
//                                                                  (one product with the three stacked)
//     a = packed_attention(q, k, v, lengths)                       (T, H, E / H), within each sequence
//     x = LN(x + Dropout(a W_o^T + b_o))                           (T, E)
//     x = LN(x + Dropout(act(x W_1^T + b_1) W_2^T + b_2))          (T, E)  act: exact (erf) GELU or ReLU
//   pooled = tanh(x[first token of s] W_p^T + b_p)                 (B, E)  when the model has a pooler
//
// Parameters are named as transformers names them ("embeddings.word_embeddings.weight",
// "encoder.layer.0.attention.self.query.weight", ...), so a Hugging Face model.safetensors loads
// by name (models/bert_loader.h). Every sequence attends only within itself: a batch costs what
// its tokens cost, and a sequence's outputs are bitwise the same in any batch and thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attend/core/random.h"
#include "attend/core/tensor.h"
#include "attend/io/tensor_table.h"
#include "attend/quant/quantized_matrix.h"
#include "attend/nn/embedding.h"
#include "attend/nn/layer_norm.h"
#include "attend/nn/linear.h"
#include "attend/nn/module.h"
#include "attend/text/bert_tokenizer.h"

namespace attend::models {

enum class BertActivation { kGelu, kRelu };

// What config.json says (transformers' BertConfig keys in comments).
struct BertConfig {
  int64_t vocab_size = 30522;                         // vocab_size
  int64_t hidden_size = 768;                          // hidden_size, E
  int64_t num_layers = 12;                            // num_hidden_layers
  int64_t num_heads = 12;                             // num_attention_heads, H (divides E)
  int64_t intermediate_size = 3072;                   // intermediate_size
  int64_t max_positions = 512;                        // max_position_embeddings
  int64_t type_vocab_size = 2;                        // type_vocab_size
  double layer_norm_eps = 1e-12;                      // layer_norm_eps
  BertActivation activation = BertActivation::kGelu;  // hidden_act: "gelu" or "relu"
  double hidden_dropout = 0.1;                        // hidden_dropout_prob
  double attention_dropout = 0.1;                     // attention_probs_dropout_prob
  bool pooler = true;                                 // whether the model has pooler.dense
};

// Reads config.json. ValueError naming the file and the key for a missing required key, a value
// of the wrong type or out of range, and for what BertModel does not compute: hidden_act other
// than "gelu"/"relu", position_embedding_type other than "absolute", model_type other than "bert".
BertConfig load_bert_config(const std::string& path);
// The same from the file's text; `source` names it in messages.
BertConfig parse_bert_config(std::string_view text, const std::string& source);

// "hidden_size=384, num_hidden_layers=6, ...": the configuration as config.json names it.
std::string describe(const BertConfig& config);

// The parameters BertModel(config) registers, by name and shape, without building it.
io::TensorTable bert_parameter_table(const BertConfig& config);

// Sequences of token ids stored back to back: sequence s is rows offsets[s] .. offsets[s + 1].
struct PackedTokens {
  IndexTensor ids;               // (T)
  IndexTensor token_type_ids;    // (T)
  IndexTensor positions;         // (T): 0, 1, ..., n_s - 1 within each sequence
  std::vector<int64_t> lengths;  // n_s >= 1, summing to T

  int64_t sequences() const { return static_cast<int64_t>(lengths.size()); }
  int64_t tokens() const { return ids.defined() ? ids.numel() : 0; }
  // The first row of every sequence (its [CLS]), (B).
  IndexTensor first_rows() const;
};

// ValueError naming the encoding when one is empty or its ids and token_type_ids differ in length.
PackedTokens pack_encodings(const std::vector<text::Encoding>& encodings);

template <typename T>
struct BertOutput {
  Tensor<T> last_hidden_state;  // (T, E), packed like the input
  Tensor<T> pooled;             // (B, E), or undefined without a pooler
};

template <typename T>
class BertEmbeddings : public nn::Module<T> {
 public:
  BertEmbeddings(const BertConfig& config, Generator& generator);
  // LN(word[ids] + position[positions] + token_type[token_type_ids]), (T, E).
  Tensor<T> forward(const PackedTokens& tokens);

 private:
  BertConfig config_;
  std::shared_ptr<nn::Embedding<T>> word_, position_, token_type_;
  std::shared_ptr<nn::LayerNorm<T>> norm_;
  Generator dropout_seeds_;
};

// A quantized file's blocks of a projection weight, by parameter name (BertLayer::quantize).
using StoredBlocks = std::function<std::optional<quant::QuantizedMatrix>(const std::string& name)>;

template <typename T>
class BertLayer : public nn::Module<T> {
 public:
  // `layer` is the layer's index, for the name "encoder.<layer>.self" under AttentionCapture.
  BertLayer(const BertConfig& config, int64_t layer, Generator& generator);
  // x (T, E) -> (T, E); each sequence of `lengths` attends only within itself. Under an active
  // AttentionCapture the layer records P (B, H, n_max, n_max): sequence s in batch row s, zero
  // beyond its length n_s (kind encoder_self; see attention/attention_capture.h).
  Tensor<T> forward(const Tensor<T>& x, const std::vector<int64_t>& lengths);

  // From now on, inference multiplies the four projections (W_q, W_k, W_v stacked; W_o; W_1;
  // W_2) on copies of their weights in `format`'s blocks (quant/quantized_matrix.h: int8
  // activations); biases, LayerNorms and attention stay float. float models only; a quantized
  // layer refuses training mode (ValueError).
  void quantize(quant::QuantFormat format);
  // The same with blocks a file stored: `stored(name)` for a projection's weight name
  // ("encoder.layer.<l>.attention.self.query.weight", ...) returns them, or nullopt to quantize the
  // float weight. ValueError when stored blocks are of another format or shape.
  void quantize(quant::QuantFormat format, const StoredBlocks& stored);

 private:
  struct Quantized {
    quant::QuantizedMatrix qkv, attention_output, intermediate, output;
    Tensor<T> qkv_bias;  // (3E): [b_q; b_k; b_v]
  };
  // x W^T for one projection: its quantized copy when there is one, else linear().
  Tensor<T> project(const Tensor<T>& x, const nn::Linear<T>& linear, const quant::QuantizedMatrix* quantized) const;
  // The heads' outputs joined, (T, E), before the output projection.
  Tensor<T> self_attention(const Tensor<T>& x, const std::vector<int64_t>& lengths);
  // act(x W_1^T + b_1), (T, F), before the output projection.
  Tensor<T> feedforward_hidden(const Tensor<T>& x);

  BertConfig config_;
  int64_t layer_;
  std::shared_ptr<nn::Linear<T>> query_, key_, value_, attention_output_, intermediate_, output_;
  std::shared_ptr<nn::LayerNorm<T>> attention_norm_, output_norm_;
  std::shared_ptr<const Quantized> quantized_;  // or null
  Generator dropout_seeds_;
};

template <typename T>
class BertModel : public nn::Module<T> {
 public:
  BertModel(const BertConfig& config, Generator& generator);
  // ValueError when an id, token type or position is outside its table (naming the sequence).
  BertOutput<T> forward(const PackedTokens& tokens);
  // Every encoder layer's projections in `format` (BertLayer::quantize); the pooler stays float.
  void quantize(quant::QuantFormat format, const StoredBlocks& stored = {});
  // Whether a parameter is one of the projections quantize() replaces.
  static bool is_quantized_projection(const std::string& name);

  const BertConfig& config() const { return config_; }

 private:
  void check_tokens(const PackedTokens& tokens) const;

  BertConfig config_;
  std::shared_ptr<BertEmbeddings<T>> embeddings_;
  std::vector<std::shared_ptr<BertLayer<T>>> layers_;
  std::shared_ptr<nn::Linear<T>> pooler_;  // or null
};

extern template class BertModel<float>;
extern template class BertModel<double>;

}  // namespace attend::models
