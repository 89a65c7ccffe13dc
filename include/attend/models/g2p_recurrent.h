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
//
// Attention as a latent alignment (Deng, Kim, Chiu, Guo & Rush 2018; attention/latent_alignment.h):
// with `alignment` other than soft, z_t ~ p(z_t) = a_t (the prior, as above) picks ONE letter's
// state, and the output reads it instead of c_t:
//
//   log p(y_t | z_t = j) = log_softmax(W_out dropout([s_t; h_j]) + b_out)[y_t]      (B, T, S)
//
// (the decoder's recurrence still reads the expected context c_t). Training objectives, per
// target token, averaged over the tokens:
//   exact                  -log sum_j a_tj p(y_t | z = j)           the marginal likelihood
//   hard                   REINFORCE: z ~ a_t, -log p(y_t | z) - (f - b) log a_tz, with
//                          f = log p(y_t | z) and the baseline b the soft output's log-likelihood
//   gumbel                 soft attention on y = gumbel_softmax(e_t / tau): the output reads
//                          sum_j y_j h_j (a relaxed one-hot)
//   variational-enum       -ELBO = -(sum_j q_tj log p(y_t | z = j) - KL(q_t || a_t)), with the
//                          inference network q_t = softmax_j(g_t^T W_q h_j), g = BiGRU over the
//                          target's phoneme embeddings (it reads all of y)
//   variational-reinforce  the same ELBO with E_q by one sample z ~ q_t and REINFORCE (baseline b)
// Decoding: soft and gumbel read c_t (gumbel with the noiseless weights a_t); the latent models
// decode with the marginal under the prior, p(y_t) = sum_j a_tj p(y_t | z = j).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "attend/core/random.h"
#include "attend/models/g2p_model.h"
#include "attend/nn/dropout.h"
#include "attend/nn/embedding.h"
#include "attend/nn/linear.h"
#include "attend/nn/recurrent.h"
#include "attend/nn/score_modules.h"

namespace attend::models {

// How the alignment is trained (above).
enum class AlignmentTraining { kSoft, kExact, kHard, kGumbel, kVariationalEnum, kVariationalReinforce };
// "soft", "exact", "hard", "gumbel", "variational-enum", "variational-reinforce".
const std::vector<std::string>& alignment_training_names();
const std::string& alignment_training_name(AlignmentTraining alignment);
// ValueError naming the choices for an unknown name.
AlignmentTraining parse_alignment_training(const std::string& name);

struct G2PRecurrentConfig {
  int64_t embedding_dim = 64;  // E, letters and phonemes
  int64_t hidden_dim = 128;    // H, each encoder direction, the decoder, and the attention size A
  double dropout = 0.1;        // on the embeddings and on [s_t; c_t]
  int64_t max_length = 48;     // longest pronunciation decoded (+ markers)
  AlignmentTraining alignment = AlignmentTraining::kSoft;
  double gumbel_temperature = 1.0;  // tau, for kGumbel
};

// One batch's training objective with a latent alignment, and what to log about it.
template <typename T>
struct AlignmentLoss {
  Tensor<T> loss;  // the objective above, mean over the target tokens (scalar)
  // What a sampled objective estimates, computed exactly by enumeration (scalar, differentiable):
  // hard: -mean_t sum_j a_tj log p(y_t | z = j); variational-reinforce: the enumerated -ELBO. The
  // expected gradient of `loss` over the samples is its gradient. Undefined for the other
  // objectives (exact ones are their own; Gumbel-softmax is biased).
  Tensor<T> estimated;
  double marginal_nll = 0;     // mean -log p(y_t): the exact marginal (latent models) or the
                               // soft output (soft, gumbel); exp of it is the perplexity
  double kl = 0;               // mean KL(q_t || a_t) (variational), else 0
  double signal_variance = 0;  // REINFORCE: the variance of (f - b) over the tokens, else 0
  int64_t tokens = 0;
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
  // The training objective of config().alignment for target_out (B, T), the next phonemes
  // (padding = Vocabulary::kPad). Samples (hard, gumbel, variational-reinforce) are drawn from
  // the model's random stream "alignment_seeds" (kept in checkpoints).
  AlignmentLoss<T> alignment_loss(const IndexTensor& source, const IndexTensor& target_in,
                                  const IndexTensor& target_out);
  // The decoder's log-probabilities of the next phoneme at every teacher-forced step, as greedy and
  // beam search see them (the marginal under the prior for latent models), in eval mode:
  // (B, T, V), each row a distribution.
  Tensor<T> decoding_log_probs(const IndexTensor& source, const IndexTensor& target_in);
  // The inference network's scores of q (B, T, S), -inf on padded letters, for the target
  // (variational models; ValueError otherwise).
  Tensor<T> posterior(const IndexTensor& source, const IndexTensor& target_out);
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
    Tensor<T> scores;     // e_t, -inf on padded letters: (B, S)
  };
  // Teacher-forced decoder states s (B, T, H), soft contexts c (B, T, 2H) and prior scores e
  // (B, T, S, -inf on padding).
  struct Teacher {
    Encoded encoded;
    Tensor<T> states, contexts, scores;
  };
  Teacher teacher_forced(const IndexTensor& source, const IndexTensor& target_in);
  // log p(y | z = j) for every letter j: states (B, T, H), letters' h (B, S, 2H) -> log-probabilities
  // (B, T, S, V) of the output layer on [s_t; h_j].
  Tensor<T> aligned_log_probs(const Tensor<T>& states, const Tensor<T>& letters);
  bool latent() const;  // decodes with the marginal under the prior
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
  // Variational models: the inference network over the target.
  std::shared_ptr<nn::GRU<T>> inference_encoder_;         // E -> 2H, bidirectional
  std::shared_ptr<nn::GeneralScore<T>> inference_score_;  // W_q (2H, 2H)
  Generator alignment_seeds_{0};
};

extern template class G2PRecurrent<float>;
extern template class G2PRecurrent<double>;

}  // namespace attend::models
