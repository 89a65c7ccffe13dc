// Grapheme-to-phoneme conversion with an encoder-decoder Transformer: letters in, phonemes out.
//
//   source: letters of the word + </s>              (B, S)
//   target: <s> + phonemes  ->  phonemes + </s>     (B, T), teacher forcing
//   logits = Decoder(Embed(target) + PE, Encoder(Embed(source) + PE)) W_out    (B, T, V)
//
// Embeddings are scaled by sqrt(E) before the sinusoidal positions are added (Vaswani et al.).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attend/core/random.h"
#include "attend/models/g2p_model.h"
#include "attend/nn/linear.h"
#include "attend/nn/module.h"
#include "attend/nn/transformer.h"

namespace attend::models {

struct G2PConfig {
  int64_t model_dim = 128;
  int64_t num_heads = 4;
  int64_t encoder_layers = 3;
  int64_t decoder_layers = 3;
  int64_t feedforward_dim = 512;
  double dropout = 0.1;
  bool norm_first = true;
  int64_t max_length = 48;  // longest word / pronunciation handled (+ markers)
};

template <typename T>
class G2PTransformer : public G2PModel<T> {
 public:
  G2PTransformer(const G2PConfig& config, int64_t letters, int64_t phonemes, Generator& generator);

  // source (B, S) letter ids, target_in (B, T) phoneme ids starting with <s> -> logits (B, T, V).
  Tensor<T> forward(const IndexTensor& source, const IndexTensor& target_in) override;
  // Encoder states (B, S, E) and the source padding mask (B, S).
  Tensor<T> encode(const IndexTensor& source, MaskTensor* padding);
  // Greedy decoding with the key/value cache: the phoneme ids of each word (without markers).
  std::vector<std::vector<int64_t>> greedy_decode(const IndexTensor& source, int64_t max_steps) override;
  // Beam search for one word (source (1, S)); length-normalized log-probabilities.
  std::vector<int64_t> beam_search(const IndexTensor& source, int64_t beam_size, int64_t max_steps) override;

  const G2PConfig& config() const { return config_; }
  int64_t max_length() const override { return config_.max_length; }

 private:
  Tensor<T> embed(const Tensor<T>& table, const IndexTensor& ids, int64_t offset) const;  // (B, L, E)
  Tensor<T> decode_step(const Tensor<T>& memory, const MaskTensor& padding, const IndexTensor& tokens,
                        std::vector<nn::DecoderLayerCache<T>>& caches, int64_t position);  // (B, V) log-probs

  G2PConfig config_;
  Tensor<T> letter_embedding_;   // (V_letters, E)
  Tensor<T> phoneme_embedding_;  // (V_phonemes, E)
  std::vector<std::shared_ptr<nn::TransformerEncoderLayer<T>>> encoder_;
  std::vector<std::shared_ptr<nn::TransformerDecoderLayer<T>>> decoder_;
  std::shared_ptr<nn::LayerNorm<T>> encoder_norm_, decoder_norm_;  // pre-norm finals
  std::shared_ptr<nn::Linear<T>> output_;
  Tensor<T> positions_;  // (max_length, E) sinusoidal, constant
};

extern template class G2PTransformer<float>;
extern template class G2PTransformer<double>;

}  // namespace attend::models
