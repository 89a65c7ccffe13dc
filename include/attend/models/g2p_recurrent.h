// Grapheme-to-phoneme conversion with a recurrent encoder-decoder and additive attention
// (Bahdanau, Cho & Bengio 2015, "Neural machine translation by jointly learning to align and
// translate"): a bidirectional GRU reads the letters, a GRU decoder emits the phonemes, and at
// every step attends over the letters with the additive score.
//
//   x_j    = Embed_letters(source_j)                                   (B, S, E)
//   h_j    = [fwd h_j; bwd h_j] = BiGRU(dropout(x))_j                  (B, S, 2H), 0 at padding
//   s_0    = tanh(W_init [fwd h_last; bwd h_first] + b_init)           (B, H)
//   for t = 1 .. T, with y_0 = <s> and y_{t-1} = target_in[:, t-1] (teacher forcing):
//     e_tj  = v^T tanh(W s_{t-1} + U h_j)                              (B, S)
//     a_tj  = softmax_j(e_tj) over the letters j that are not padding  (B, S)
//     c_t   = sum_j a_tj h_j                                           (B, 2H)
//     s_t   = GRUCell([dropout(Embed_phonemes(y_{t-1})); c_t], s_{t-1})  (B, H)
//     logits_t = W_out dropout([s_t; c_t]) + b_out                     (B, V)
//
// The attention size A equals H. U h_j does not depend on t, so it is computed once per word
// (Bahdanau et al., appendix A.1.2). Bahdanau et al. read the output from s_{t-1}, y_{t-1} and
// c_t through a maxout layer; reading it from the new state s_t (which holds all three) and c_t
// is the simpler form that Luong et al. 2015 and OpenNMT use. The encoder is padding-aware
// (nn/recurrent.h), so a word's outputs do not depend on what it is batched with.
#pragma once

#include <memory>

#include "attend/core/random.h"
#include "attend/models/g2p_model.h"
#include "attend/nn/dropout.h"
#include "attend/nn/embedding.h"
#include "attend/nn/linear.h"
#include "attend/nn/recurrent.h"
#include "attend/nn/score_modules.h"

namespace attend::models {

struct G2PRecurrentConfig {
  int64_t embedding_dim = 64;  // E, letters and phonemes
  int64_t hidden_dim = 128;    // H, each encoder direction, the decoder, and the attention size A
  double dropout = 0.1;        // on the embeddings and on [s_t; c_t]
  int64_t max_length = 48;     // longest pronunciation decoded (+ markers)
};

template <typename T>
struct G2PRecurrentOutput {
  Tensor<T> logits;     // (B, T, V)
  Tensor<T> attention;  // (B, T, S): a_tj; each row sums to 1 and is 0 on padded letters
};

template <typename T>
class G2PRecurrent : public G2PModel<T> {
 public:
  G2PRecurrent(const G2PRecurrentConfig& config, int64_t letters, int64_t phonemes, Generator& generator);

  // source (B, S) letter ids, target_in (B, T) phoneme ids starting with <s> -> logits (B, T, V).
  Tensor<T> forward(const IndexTensor& source, const IndexTensor& target_in) override;
  // forward() and the attention weights of every step.
  G2PRecurrentOutput<T> forward_with_attention(const IndexTensor& source, const IndexTensor& target_in);
  std::vector<std::vector<int64_t>> greedy_decode(const IndexTensor& source, int64_t max_steps) override;
  // Beam search for one word (source (1, S)); length-normalized log-probabilities (g2p_search.h).
  std::vector<int64_t> beam_search(const IndexTensor& source, int64_t beam_size, int64_t max_steps) override;

  const G2PRecurrentConfig& config() const { return config_; }
  int64_t max_length() const override { return config_.max_length; }

 private:
  // What the decoder reads from the encoder, for every step.
  struct Encoded {
    Tensor<T> states;                    // h: (B, S, 2H)
    Tensor<T> projected_keys;            // U h: (B, S, A)
    MaskTensor padding;                  // (B, S), nonzero = padding
    Tensor<T> initial;                   // s_0: (B, H)
    Encoded expand(int64_t rows) const;  // a (1, ...) encoding repeated for `rows` beams
  };
  struct Step {
    Tensor<T> state;      // s_t: (B, H)
    Tensor<T> features;   // [s_t; c_t]: (B, 3H)
    Tensor<T> attention;  // a_t: (B, S)
  };
  Encoded encode(const IndexTensor& source);
  // previous_embedded (B, E) = Embed(y_{t-1}), state s_{t-1} (B, H) -> one step of the equations.
  Step decode_step(const Encoded& encoded, const Tensor<T>& previous_embedded, const Tensor<T>& state);
  // tokens (B, 1) -> logits (B, V) and the state s_t (decoding runs in eval mode: no dropout).
  Tensor<T> next_logits(const Encoded& encoded, const IndexTensor& tokens, Tensor<T>* state);

  G2PRecurrentConfig config_;
  std::shared_ptr<nn::Embedding<T>> letter_embedding_;   // (V_letters, E)
  std::shared_ptr<nn::Embedding<T>> phoneme_embedding_;  // (V_phonemes, E)
  std::shared_ptr<nn::GRU<T>> encoder_;                  // E -> 2H, bidirectional
  std::shared_ptr<nn::Linear<T>> bridge_;                // W_init (H, 2H), b_init (H)
  std::shared_ptr<nn::AdditiveScore<T>> attention_;      // W (H, A), U (2H, A), v (A)
  std::shared_ptr<nn::GRUCell<T>> decoder_;              // E + 2H -> H
  std::shared_ptr<nn::Linear<T>> output_;                // W_out (V, 3H), b_out (V)
  std::shared_ptr<nn::Dropout<T>> dropout_;
};

extern template class G2PRecurrent<float>;
extern template class G2PRecurrent<double>;

}  // namespace attend::models
