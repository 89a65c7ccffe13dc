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
#include "attend/nn/linear.h"
#include "attend/nn/module.h"
#include "attend/nn/transformer.h"

namespace attend::models {

// Symbols <-> ids, with 0 = <pad>, 1 = <s>, 2 = </s>, 3 = <unk>.
class Vocabulary {
 public:
  static constexpr int64_t kPad = 0, kStart = 1, kEnd = 2, kUnknown = 3;
  explicit Vocabulary(const std::vector<std::string>& symbols);
  int64_t size() const { return static_cast<int64_t>(symbols_.size()); }
  int64_t id(const std::string& symbol) const;  // kUnknown when absent
  bool contains(const std::string& symbol) const { return ids_.count(symbol) == 1; }
  const std::string& symbol(int64_t id) const;
  const std::vector<std::string>& symbols() const { return symbols_; }

 private:
  std::vector<std::string> symbols_;
  std::map<std::string, int64_t> ids_;
};

// Letters a-z and the apostrophe; the 39 CMUdict phonemes.
Vocabulary letter_vocabulary();
Vocabulary phoneme_vocabulary();

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
class G2PTransformer : public nn::Module<T> {
 public:
  G2PTransformer(const G2PConfig& config, int64_t letters, int64_t phonemes, Generator& generator);

  // source (B, S) letter ids, target_in (B, T) phoneme ids starting with <s> -> logits (B, T, V).
  Tensor<T> forward(const IndexTensor& source, const IndexTensor& target_in);
  // Encoder states (B, S, E) and the source padding mask (B, S).
  Tensor<T> encode(const IndexTensor& source, MaskTensor* padding);
  // Greedy decoding with the key/value cache: the phoneme ids of each word (without markers).
  std::vector<std::vector<int64_t>> greedy_decode(const IndexTensor& source, int64_t max_steps);
  // Beam search for one word (source (1, S)); length-normalized log-probabilities.
  std::vector<int64_t> beam_search(const IndexTensor& source, int64_t beam_size, int64_t max_steps);

  const G2PConfig& config() const { return config_; }

 private:
  Tensor<T> embed(const Tensor<T>& table, const IndexTensor& ids, int64_t offset) const;  // (B, L, E)
  Tensor<T> decode_step(const Tensor<T>& memory, const MaskTensor& padding, const IndexTensor& tokens,
                        std::vector<nn::DecoderLayerCache<T>>& caches, int64_t position);  // (B, V) log-probs

  G2PConfig config_;
  Tensor<T> letter_embedding_;   // (V_letters, E)
  Tensor<T> phoneme_embedding_;  // (V_phonemes, E)
  std::vector<std::shared_ptr<nn::TransformerEncoderLayer<T>>> encoder_;
  std::vector<std::shared_ptr<nn::TransformerDecoderLayer<T>>> decoder_;
  std::shared_ptr<nn::LayerNormalization<T>> encoder_norm_, decoder_norm_;  // pre-norm finals
  std::shared_ptr<nn::Linear<T>> output_;
  Tensor<T> positions_;  // (max_length, E) sinusoidal, constant
};

// Letter ids of a word + </s>; throws attend::ValueError naming characters outside the vocabulary.
std::vector<int64_t> encode_word(const Vocabulary& letters, const std::string& word);
// Pads id sequences into (B, L) with <pad>.
IndexTensor pad_batch(const std::vector<std::vector<int64_t>>& sequences);

// Edit distance between two id sequences (insertions, deletions, substitutions cost 1).
int64_t edit_distance(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

extern template class G2PTransformer<float>;
extern template class G2PTransformer<double>;

}  // namespace attend::models
