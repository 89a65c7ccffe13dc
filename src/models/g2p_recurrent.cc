#include "attend/models/g2p_recurrent.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attend/attention/attention_capture.h"
#include "attend/attention/scored_attention.h"
#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/models/g2p_search.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/indexing.h"
#include "attend/ops/masking.h"
#include "attend/ops/matmul.h"
#include "attend/ops/shape_ops.h"
#include "attend/ops/softmax.h"

namespace attend::models {

template <typename T>
G2PRecurrent<T>::G2PRecurrent(const G2PRecurrentConfig& config, int64_t letters, int64_t phonemes, Generator& generator)
    : config_(config) {
  const int64_t e = config.embedding_dim, h = config.hidden_dim;
  ATTEND_CHECK(e > 0 && h > 0 && config.max_length > 0, ValueError,
               "G2PRecurrent: embedding_dim {}, hidden_dim {} and max_length {} must be positive", e, h,
               config.max_length);
  ATTEND_CHECK(std::isfinite(config.gumbel_temperature) && config.gumbel_temperature > 0, ValueError,
               "G2PRecurrent: the Gumbel temperature must be finite and > 0, got {}", config.gumbel_temperature);
  letter_embedding_ = this->register_module(
      "letter_embedding", std::make_shared<nn::Embedding<T>>(letters, e, generator, Vocabulary::kPad));
  phoneme_embedding_ = this->register_module(
      "phoneme_embedding", std::make_shared<nn::Embedding<T>>(phonemes, e, generator, Vocabulary::kPad));
  encoder_ = this->register_module(
      "encoder", std::make_shared<nn::GRU<T>>(
                     nn::RecurrentConfig{.input_size = e, .hidden_size = h, .bidirectional = true}, generator));
  bridge_ = this->register_module("bridge", std::make_shared<nn::Linear<T>>(2 * h, h, true, generator));
  attention_ = this->register_module("attention", std::make_shared<nn::AdditiveScore<T>>(h, 2 * h, h, generator));
  decoder_ = this->register_module("decoder", std::make_shared<nn::GRUCell<T>>(e + 2 * h, h, true, generator));
  output_ = this->register_module("output", std::make_shared<nn::Linear<T>>(3 * h, phonemes, true, generator));
  output_->keep_float();  // aligned_log_probs multiplies its weight's two halves itself
  dropout_ = this->register_module("dropout", std::make_shared<nn::Dropout<T>>(config.dropout, generator));
  // Soft models draw nothing more from `generator`, so that they initialize as they always did.
  if (config.alignment == AlignmentTraining::kVariationalEnum ||
      config.alignment == AlignmentTraining::kVariationalReinforce) {
    inference_encoder_ = this->register_module(
        "inference.encoder",
        std::make_shared<nn::GRU<T>>(nn::RecurrentConfig{.input_size = e, .hidden_size = h, .bidirectional = true},
                                     generator));
    inference_score_ =
        this->register_module("inference.score", std::make_shared<nn::GeneralScore<T>>(2 * h, 2 * h, generator));
  }
  if (config.alignment != AlignmentTraining::kSoft) {
    alignment_seeds_ = Generator(generator.next_u64());
    this->register_generator("alignment_seeds", alignment_seeds_);
  }
}

template <typename T>
typename G2PRecurrent<T>::Encoded G2PRecurrent<T>::encode(const IndexTensor& source) {
  ATTEND_CHECK(source.rank() == 2 && source.size(1) > 0, ShapeError,
               "G2PRecurrent: source must be (B, S) with S >= 1, got {}", shape_string(source.shape()));
  Encoded encoded;
  encoded.padding = MaskTensor::empty(source.shape());
  const std::vector<int64_t> ids = source.to_vector();  // row-major, whatever the strides
  for (size_t i = 0; i < ids.size(); ++i) encoded.padding.data()[i] = ids[i] == Vocabulary::kPad;
  const Tensor<T> letters = dropout_->forward(letter_embedding_->forward(source));  // (B, S, E)
  const nn::GruOutput<T> run = encoder_->forward(letters, Tensor<T>(), encoded.padding);
  encoded.states = run.output;                                                // (B, S, 2H)
  encoded.projected_keys = matmul(encoded.states, attention_->key_weight());  // (B, S, A)
  // The final states run.hidden (2, B, H): forward after the last letter, reverse after the first.
  const Tensor<T> forward_final = run.hidden.slice(0, 0, 1).squeeze(0);   // (B, H)
  const Tensor<T> reverse_final = run.hidden.slice(0, 1, 2).squeeze(0);   // (B, H)
  const Tensor<T> finals = concat<T>({forward_final, reverse_final}, 1);  // (B, 2H)
  encoded.initial = tanh(bridge_->forward(finals));                       // (B, H)
  return encoded;
}

template <typename T>
typename G2PRecurrent<T>::Encoded G2PRecurrent<T>::Encoded::expand(int64_t rows) const {
  return {states.expand({rows, states.size(1), states.size(2)}),
          projected_keys.expand({rows, projected_keys.size(1), projected_keys.size(2)}),
          padding.expand({rows, padding.size(1)}), initial.expand({rows, initial.size(1)})};
}

template <typename T>
typename G2PRecurrent<T>::Step G2PRecurrent<T>::decode_step(const Encoded& encoded, const Tensor<T>& previous_embedded,
                                                            const Tensor<T>& state) {
  // e_tj = v^T tanh(W s_{t-1} + U h_j), the keys' half U h_j precomputed.
  const Tensor<T> projected_query = matmul(state, attention_->query_weight()).unsqueeze(1);  // (B, 1, A)
  const Tensor<T> scores = additive_scores_from_projections(projected_query, encoded.projected_keys,
                                                            attention_->score_weight());  // (B, 1, S)
  // a_t = softmax over the real letters; c_t = sum_j a_tj h_j.
  const ScoredAttentionResult<T> attended =
      attention_from_scores(scores, encoded.states, {.key_padding_mask = encoded.padding});
  if (AttentionCapture* capture = AttentionCapture::active()) {  // viz: one row per decoding step
    capture->add(this, "decoder.attention", AttentionKind::kCross, 0,
                 attended.weights.detach().unsqueeze(1));  // (B, 1, 1, S)
  }
  const Tensor<T> context = attended.output.squeeze(1);                                         // (B, 2H)
  const Tensor<T> next = decoder_->forward(concat<T>({previous_embedded, context}, 1), state);  // (B, H)
  const Tensor<T> masked_scores =
      masked_fill(scores.squeeze(1), encoded.padding, -std::numeric_limits<T>::infinity());  // (B, S)
  return {next, concat<T>({next, context}, 1), attended.weights.squeeze(1), masked_scores};
}

template <typename T>
G2PRecurrentOutput<T> G2PRecurrent<T>::forward_with_attention(const IndexTensor& source, const IndexTensor& target_in) {
  ATTEND_CHECK(
      target_in.rank() == 2 && target_in.size(1) > 0 && source.rank() == 2 && target_in.size(0) == source.size(0),
      ShapeError, "G2PRecurrent: target {} must be (B, T), T >= 1, with the batch of source {}",
      shape_string(target_in.shape()), shape_string(source.shape()));
  const Encoded encoded = encode(source);
  const Tensor<T> phonemes = dropout_->forward(phoneme_embedding_->forward(target_in));  // (B, T, E)
  std::vector<Tensor<T>> features, attention;                                            // T of (B, 3H) and (B, S)
  Tensor<T> state = encoded.initial;                                                     // (B, H)
  for (int64_t t = 0; t < target_in.size(1); ++t) {
    Step step = decode_step(encoded, phonemes.slice(1, t, t + 1).squeeze(1), state);
    state = step.state;
    features.push_back(step.features);
    attention.push_back(step.attention);
  }
  // One output product for all steps.
  const Tensor<T> logits = output_->forward(dropout_->forward(stack(features, 1)));  // (B, T, V)
  return {logits, stack(attention, 1)};                                              // (B, T, S)
}

template <typename T>
Tensor<T> G2PRecurrent<T>::forward(const IndexTensor& source, const IndexTensor& target_in) {
  return forward_with_attention(source, target_in).logits;
}

template <typename T>
Tensor<T> G2PRecurrent<T>::next_logits(const Encoded& encoded, const IndexTensor& tokens, Tensor<T>* state) {
  const Step step = decode_step(encoded, phoneme_embedding_->forward(tokens).squeeze(1), *state);
  *state = step.state;
  if (!latent()) return output_->forward(step.features);  // (B, V)
  // log p(y) = log sum_j a_j p(y | z = j): log-probabilities, which the searches take as logits.
  const Tensor<T> per_letter = aligned_log_probs(step.state.unsqueeze(1), encoded.states).squeeze(1);  // (B, S, V)
  return logsumexp(add(per_letter, log_softmax(step.scores, -1).unsqueeze(2)), 1);                     // (B, V)
}

template <typename T>
Tensor<T> G2PRecurrent<T>::decoding_log_probs(const IndexTensor& source, const IndexTensor& target_in) {
  DecodingGuard<T> decoding(*this);
  const Encoded encoded = encode(source);
  Tensor<T> state = encoded.initial;  // (B, H)
  std::vector<Tensor<T>> steps;       // T of (B, V)
  for (int64_t t = 0; t < target_in.size(1); ++t) {
    steps.push_back(log_softmax(next_logits(encoded, target_in.slice(1, t, t + 1), &state), -1));
  }
  return stack(steps, 1);  // (B, T, V)
}

template <typename T>
std::vector<std::vector<int64_t>> G2PRecurrent<T>::greedy_decode(const IndexTensor& source, int64_t max_steps) {
  DecodingGuard<T> decoding(*this);
  const Encoded encoded = encode(source);
  Tensor<T> state = encoded.initial;  // (B, H)
  return greedy_search<T>(source.size(0), std::min(max_steps, config_.max_length),
                          [&](const IndexTensor& tokens, int64_t) {
                            return next_logits(encoded, tokens, &state);  // (B, V)
                          });
}

template <typename T>
std::vector<int64_t> G2PRecurrent<T>::beam_search(const IndexTensor& source, int64_t beam_size, int64_t max_steps) {
  check_single_word(source);
  DecodingGuard<T> decoding(*this);
  const Encoded encoded = encode(source);
  Tensor<T> state = encoded.initial;  // (L, H), L = live beams
  const auto next_log_probs = [&](const IndexTensor& tokens, int64_t) {
    return log_softmax(next_logits(encoded.expand(tokens.size(0)), tokens, &state), -1);  // (L, V)
  };
  const auto follow_beams = [&](const IndexTensor& parents) { state = index_select(state, 0, parents); };
  return models::beam_search<T>(beam_size, std::min(max_steps, config_.max_length), next_log_probs, follow_beams);
}

template class G2PRecurrent<float>;
template class G2PRecurrent<double>;

}  // namespace attend::models
