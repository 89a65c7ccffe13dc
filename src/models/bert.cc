// BertModel on packed batches (the math is in models/bert.h).
#include "attend/models/bert.h"

#include <algorithm>
#include <type_traits>

#include <fmt/format.h>

#include "attend/attention/attention_capture.h"
#include "attend/attention/packed_attention.h"
#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/ops/dropout.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/indexing.h"
#include "attend/ops/matmul.h"
#include "attend/ops/normalization.h"
#include "attend/ops/shape_ops.h"

namespace attend::models {
namespace {

template <typename T>
Tensor<T> train_dropout(const Tensor<T>& x, double p, bool training, Generator& seeds) {
  if (!training || p == 0) return x;
  return dropout(x, p, seeds.next_u64());
}

// P (B, H, n_max, n_max) of every sequence, zero-padded, recomputed on the reference path under
// no_grad (the layer's outputs, tape and dropout stream are untouched), for AttentionCapture.
template <typename T>
Tensor<T> packed_weights_for_capture(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                     const std::vector<int64_t>& lengths) {
  NoGradGuard no_grad;
  const int64_t longest = lengths.empty() ? 0 : *std::max_element(lengths.begin(), lengths.end());
  const int64_t heads = q.size(1);
  Tensor<T> weights = Tensor<T>::zeros({static_cast<int64_t>(lengths.size()), heads, longest, longest});
  AttentionOptions<T> options;
  options.need_weights = true;
  options.implementation = AttentionImplementation::kReference;
  int64_t begin = 0;
  for (size_t s = 0; s < lengths.size(); ++s) {
    const int64_t n = lengths[s], end = begin + n;
    const auto batch_of_one = [&](const Tensor<T>& x) { return x.slice(0, begin, end).transpose(0, 1).unsqueeze(0); };
    const Tensor<T> p =
        scaled_dot_product_attention(batch_of_one(q), batch_of_one(k), batch_of_one(v), options).weights;
    Tensor<T> target = weights.slice(0, s, s + 1).slice(2, 0, n).slice(3, 0, n);
    target.copy_from(p);
    begin = end;
  }
  return weights;
}

}  // namespace

IndexTensor PackedTokens::first_rows() const {
  std::vector<int64_t> rows;
  int64_t offset = 0;
  for (const int64_t n : lengths) {
    rows.push_back(offset);
    offset += n;
  }
  return IndexTensor::from_vector({static_cast<int64_t>(rows.size())}, rows);
}

PackedTokens pack_encodings(const std::vector<text::Encoding>& encodings) {
  std::vector<int64_t> ids, types, positions;
  PackedTokens packed;
  for (size_t s = 0; s < encodings.size(); ++s) {
    const text::Encoding& e = encodings[s];
    ATTEND_CHECK(!e.ids.empty(), ValueError, "pack_encodings: encoding {} has no tokens", s);
    ATTEND_CHECK(e.token_type_ids.size() == e.ids.size(), ValueError,
                 "pack_encodings: encoding {} has {} ids but {} token_type_ids", s, e.ids.size(),
                 e.token_type_ids.size());
    ids.insert(ids.end(), e.ids.begin(), e.ids.end());
    types.insert(types.end(), e.token_type_ids.begin(), e.token_type_ids.end());
    for (size_t i = 0; i < e.ids.size(); ++i) positions.push_back(static_cast<int64_t>(i));
    packed.lengths.push_back(static_cast<int64_t>(e.ids.size()));
  }
  const Shape shape{static_cast<int64_t>(ids.size())};
  packed.ids = IndexTensor::from_vector(shape, ids);
  packed.token_type_ids = IndexTensor::from_vector(shape, types);
  packed.positions = IndexTensor::from_vector(shape, positions);
  return packed;
}

// ---- embeddings ----

template <typename T>
BertEmbeddings<T>::BertEmbeddings(const BertConfig& config, Generator& generator)
    : config_(config), dropout_seeds_(generator.next_u64()) {
  const int64_t e = config.hidden_size;
  word_ = this->register_module("word_embeddings", std::make_shared<nn::Embedding<T>>(config.vocab_size, e, generator));
  position_ = this->register_module("position_embeddings",
                                    std::make_shared<nn::Embedding<T>>(config.max_positions, e, generator));
  token_type_ = this->register_module("token_type_embeddings",
                                      std::make_shared<nn::Embedding<T>>(config.type_vocab_size, e, generator));
  norm_ = this->register_module("LayerNorm", std::make_shared<nn::LayerNorm<T>>(Shape{e}, config.layer_norm_eps));
  this->register_generator("dropout_seeds", dropout_seeds_);
}

template <typename T>
Tensor<T> BertEmbeddings<T>::forward(const PackedTokens& tokens) {
  // x = word[id] + position[p] + token_type[t]   (T, E)
  Tensor<T> x = add(add(word_->forward(tokens.ids), position_->forward(tokens.positions)),
                    token_type_->forward(tokens.token_type_ids));
  return train_dropout(norm_->forward(x), config_.hidden_dropout, this->is_training(), dropout_seeds_);
}

// ---- one encoder layer ----

template <typename T>
BertLayer<T>::BertLayer(const BertConfig& config, int64_t layer, Generator& generator)
    : config_(config), layer_(layer), dropout_seeds_(generator.next_u64()) {
  const int64_t e = config.hidden_size, f = config.intermediate_size;
  const auto linear = [&](const std::string& name, int64_t in, int64_t out) {
    return this->register_module(name, std::make_shared<nn::Linear<T>>(in, out, true, generator));
  };
  const auto norm = [&](const std::string& name) {
    return this->register_module(name, std::make_shared<nn::LayerNorm<T>>(Shape{e}, config.layer_norm_eps));
  };
  query_ = linear("attention.self.query", e, e);
  key_ = linear("attention.self.key", e, e);
  value_ = linear("attention.self.value", e, e);
  attention_output_ = linear("attention.output.dense", e, e);
  attention_norm_ = norm("attention.output.LayerNorm");
  intermediate_ = linear("intermediate.dense", e, f);
  output_ = linear("output.dense", f, e);
  output_norm_ = norm("output.LayerNorm");
  this->register_generator("dropout_seeds", dropout_seeds_);
}

template <typename T>
void BertLayer<T>::quantize(quant::QuantFormat format) {
  quantize(format, StoredBlocks());
}

template <typename T>
void BertLayer<T>::quantize(quant::QuantFormat format, const StoredBlocks& stored) {
  if constexpr (!std::is_same_v<T, float>) {
    fail<ValueError>("BertLayer::quantize: only float models are quantized (format {})",
                     quant::quant_format_name(format));
  } else {
    // The file's blocks when it stored them (checked against the weight), else the weight quantized.
    const auto q = [&](const nn::Linear<T>& linear, const std::string& name) {
      const std::string what = fmt::format("encoder.layer.{}.{}", layer_, name);
      if (stored) {
        if (std::optional<quant::QuantizedMatrix> blocks = stored(what + ".weight")) {
          const Shape shape = linear.weight().shape(), stored_shape{blocks->rows(), blocks->cols()};
          ATTEND_CHECK(blocks->format() == format && stored_shape == shape, ValueError,
                       "{}.weight: stored {} blocks of ({}, {}), but the model needs {} of {}", what,
                       quant::quant_format_name(blocks->format()), blocks->rows(), blocks->cols(),
                       quant::quant_format_name(format), shape_string(shape));
          return *blocks;
        }
      }
      return quant::QuantizedMatrix::quantize(format, linear.weight(), what);
    };
    const std::vector<quant::QuantizedMatrix> parts{q(*query_, "attention.self.query"), q(*key_, "attention.self.key"),
                                                    q(*value_, "attention.self.value")};
    const auto bias = [](const nn::Linear<T>& linear, int64_t size) {
      return linear.bias().defined() ? linear.bias() : Tensor<T>::zeros({size});
    };
    const int64_t e = config_.hidden_size;
    quantized_ = std::make_shared<const Quantized>(
        Quantized{quant::QuantizedMatrix::stack(parts), q(*attention_output_, "attention.output.dense"),
                  q(*intermediate_, "intermediate.dense"), q(*output_, "output.dense"),
                  concat(std::vector<Tensor<T>>{bias(*query_, e), bias(*key_, e), bias(*value_, e)}, 0)});
  }
}

template <typename T>
Tensor<T> BertLayer<T>::project(const Tensor<T>& x, const nn::Linear<T>& linear,
                                const quant::QuantizedMatrix* quantized) const {
  if constexpr (std::is_same_v<T, float>) {
    if (quantized != nullptr) return quantized->project(x);
  }
  return attend::linear(x, linear.weight());
}

// act(x W^T + b) through the quantized kernel, the bias and activation applied as each sum
// finishes (float32 only: a quantized layer is float32).
template <typename T>
Tensor<T> quantized_projection(
    const Tensor<T>& x, const quant::QuantizedMatrix& w, const Tensor<T>& bias,
    quant::QuantizedMatrix::Activation activation = quant::QuantizedMatrix::Activation::none) {
  if constexpr (std::is_same_v<T, float>) {
    return w.project(x, bias, activation);
  } else {
    fail<ValueError>("a quantized encoder layer runs in float32");
  }
}

template <typename T>
Tensor<T> BertLayer<T>::self_attention(const Tensor<T>& x, const std::vector<int64_t>& lengths) {
  const int64_t tokens = x.size(0), heads = config_.num_heads, head_dim = config_.hidden_size / heads;
  // q, k, v = x W^T + b, into one (T, 3E) output: [q k v] = x [W_q; W_k; W_v]^T + [b_q; b_k; b_v]
  // (the weights stay where they are: no (3E, E) copy at every call; quantized: one stacked copy)
  const Tensor<T> qkv = (quantized_ ? quantized_projection(x, quantized_->qkv, quantized_->qkv_bias)
                                    : linear_stacked(x, {query_->weight(), key_->weight(), value_->weight()},
                                                     {query_->bias(), key_->bias(), value_->bias()}))
                            .reshape({tokens, 3, heads, head_dim});  // (T, 3, H, E / H)
  AttentionOptions<T> options;
  if (this->is_training() && config_.attention_dropout > 0) {
    options.dropout_p = config_.attention_dropout;
    options.dropout_seed = dropout_seeds_.next_u64();
  }
  // a = packed_attention(q, k, v) with q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]   (T, H, E / H) -> (T, E)
  const Tensor<T> a = packed_self_attention(qkv, lengths, options).reshape({tokens, config_.hidden_size});
  if (AttentionCapture* capture = AttentionCapture::active()) {
    const auto part = [&](int64_t i) { return qkv.slice(1, i, i + 1).squeeze(1); };  // (T, H, E / H) views
    capture->add(this, fmt::format("encoder.{}.self", layer_), AttentionKind::kEncoderSelf, layer_,
                 packed_weights_for_capture(part(0), part(1), part(2), lengths));
  }
  return a;
}

template <typename T>
Tensor<T> BertLayer<T>::feedforward_hidden(const Tensor<T>& x) {
  // act(x W_1^T + b_1)   (T, E) -> (T, F); GELU takes the bias in its own pass
  if (!quantized_ && config_.activation != BertActivation::kGelu) return relu(intermediate_->forward(x));
  if (quantized_ && config_.activation == BertActivation::kGelu) {  // GELU as each output finishes
    return quantized_projection(x, quantized_->intermediate, intermediate_->bias(),
                                quant::QuantizedMatrix::Activation::gelu);
  }
  const Tensor<T> product = project(x, *intermediate_, quantized_ ? &quantized_->intermediate : nullptr);  // (T, F)
  if (config_.activation != BertActivation::kGelu) {
    return relu(intermediate_->bias().defined() ? add(product, intermediate_->bias()) : product);
  }
  return intermediate_->bias().defined() ? bias_gelu(product, intermediate_->bias()) : gelu(product);
}

template <typename T>
Tensor<T> BertLayer<T>::forward(const Tensor<T>& x, const std::vector<int64_t>& lengths) {
  const double p = config_.hidden_dropout;
  ATTEND_CHECK(!(quantized_ && this->is_training()), ValueError,
               "encoder layer {} is quantized: inference only (call eval())", layer_);
  if (this->is_training() && p > 0) {
    // x = LN(x + Dropout(attention(x) W_o^T + b_o));  x = LN(x + Dropout(FF(x) W_2^T + b_2))
    const Tensor<T> h = attention_norm_->forward(
        add(x, train_dropout(attention_output_->forward(self_attention(x, lengths)), p, true, dropout_seeds_)));
    return output_norm_->forward(
        add(h, train_dropout(output_->forward(feedforward_hidden(h)), p, true, dropout_seeds_)));
  }
  // Without dropout the same, each output projection's bias added in its LayerNorm's pass
  // (add_layer_norm: the float adds in this order):
  //   x = LN((attention(x) W_o^T + x) + b_o);  x = LN((FF(x) W_2^T + x) + b_2)
  const auto add_norm = [](const Tensor<T>& product, const Tensor<T>& residual, const nn::Linear<T>& projection,
                           const nn::LayerNorm<T>& norm) {
    return add_layer_norm(product, residual, projection.bias(), {product.size(-1)}, norm.weight(), norm.bias(),
                          norm.eps());
  };
  const Tensor<T> h = add_norm(
      project(self_attention(x, lengths), *attention_output_, quantized_ ? &quantized_->attention_output : nullptr), x,
      *attention_output_, *attention_norm_);
  return add_norm(project(feedforward_hidden(h), *output_, quantized_ ? &quantized_->output : nullptr), h, *output_,
                  *output_norm_);
}

// ---- the model ----

template <typename T>
BertModel<T>::BertModel(const BertConfig& config, Generator& generator) : config_(config) {
  ATTEND_CHECK(config.hidden_size >= 1 && config.num_heads >= 1 && config.hidden_size % config.num_heads == 0,
               ValueError, "BertModel: num_attention_heads = {} must divide hidden_size = {}", config.num_heads,
               config.hidden_size);
  embeddings_ = this->register_module("embeddings", std::make_shared<BertEmbeddings<T>>(config, generator));
  for (int64_t l = 0; l < config.num_layers; ++l) {
    layers_.push_back(this->register_module("encoder.layer." + std::to_string(l),
                                            std::make_shared<BertLayer<T>>(config, l, generator)));
  }
  if (config.pooler) {
    pooler_ = this->register_module(
        "pooler.dense", std::make_shared<nn::Linear<T>>(config.hidden_size, config.hidden_size, true, generator));
  }
}

template <typename T>
void BertModel<T>::check_tokens(const PackedTokens& tokens) const {
  const int64_t total = tokens.tokens();
  ATTEND_CHECK(tokens.token_type_ids.defined() && tokens.positions.defined() &&
                   tokens.token_type_ids.numel() == total && tokens.positions.numel() == total,
               ShapeError, "BertModel: ids, token_type_ids and positions must all be (T) = ({})", total);
  const std::vector<int64_t> ids = tokens.ids.to_vector(), types = tokens.token_type_ids.to_vector(),
                             positions = tokens.positions.to_vector();
  int64_t row = 0, counted = 0;
  for (size_t s = 0; s < tokens.lengths.size(); ++s) {
    ATTEND_CHECK(tokens.lengths[s] >= 1, ValueError, "BertModel: sequence {} has length {}", s, tokens.lengths[s]);
    ATTEND_CHECK(tokens.lengths[s] <= config_.max_positions, ValueError,
                 "BertModel: sequence {} has {} tokens, more than the model's {} positions (max_position_embeddings); "
                 "truncate it",
                 s, tokens.lengths[s], config_.max_positions);
    counted += tokens.lengths[s];
    for (const int64_t end = std::min(total, counted); row < end; ++row) {
      ATTEND_CHECK(ids[row] >= 0 && ids[row] < config_.vocab_size, ValueError,
                   "BertModel: sequence {} has token id {}, outside the vocabulary [0, {})", s, ids[row],
                   config_.vocab_size);
      ATTEND_CHECK(types[row] >= 0 && types[row] < config_.type_vocab_size, ValueError,
                   "BertModel: sequence {} has token type {}, outside [0, {}) (type_vocab_size)", s, types[row],
                   config_.type_vocab_size);
      ATTEND_CHECK(positions[row] >= 0 && positions[row] < config_.max_positions, ValueError,
                   "BertModel: sequence {} has position {}, outside [0, {})", s, positions[row], config_.max_positions);
    }
  }
  ATTEND_CHECK(counted == total, ValueError, "BertModel: the sequence lengths sum to {} but there are {} tokens",
               counted, total);
}

template <typename T>
BertOutput<T> BertModel<T>::forward(const PackedTokens& tokens) {
  check_tokens(tokens);
  BertOutput<T> out;
  Tensor<T> x = embeddings_->forward(tokens);  // (T, E)
  for (const auto& layer : layers_) x = layer->forward(x, tokens.lengths);
  out.last_hidden_state = x;
  // pooled = tanh(x[first rows] W_p^T + b_p)   (B, E)
  if (pooler_) out.pooled = tanh(pooler_->forward(index_select(x, 0, tokens.first_rows())));
  return out;
}

template <typename T>
void BertModel<T>::quantize(quant::QuantFormat format, const StoredBlocks& stored) {
  for (const auto& layer : layers_) layer->quantize(format, stored);
}

template <typename T>
bool BertModel<T>::is_quantized_projection(const std::string& name) {
  if (!name.starts_with("encoder.layer.")) return false;
  for (const char* end : {".attention.self.query.weight", ".attention.self.key.weight", ".attention.self.value.weight",
                          ".attention.output.dense.weight", ".intermediate.dense.weight", ".output.dense.weight"}) {
    if (name.ends_with(end)) return true;
  }
  return false;
}

template class BertEmbeddings<float>;
template class BertEmbeddings<double>;
template class BertLayer<float>;
template class BertLayer<double>;
template class BertModel<float>;
template class BertModel<double>;

}  // namespace attend::models
