// G2PRecurrent with attention as a latent alignment: the training objectives and the inference
// network (the math is in models/g2p_recurrent.h).
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "attend/attention/latent_alignment.h"
#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/models/g2p_model.h"
#include "attend/models/g2p_recurrent.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/indexing.h"
#include "attend/ops/loss.h"
#include "attend/ops/masking.h"
#include "attend/ops/matmul.h"
#include "attend/ops/reduction.h"
#include "attend/ops/shape_ops.h"
#include "attend/ops/softmax.h"

namespace attend::models {
namespace {

// Per-token means over the real target tokens: values (B, T), keep (B, T) 1 or 0, tokens > 0.
template <typename T>
Tensor<T> token_mean(const Tensor<T>& values, const Tensor<T>& keep, int64_t tokens) {
  return mul_scalar(sum(mul(values, keep)), static_cast<T>(1.0 / static_cast<double>(tokens)));
}

template <typename T>
double token_mean_value(const Tensor<T>& values, const Tensor<T>& keep, int64_t tokens) {
  NoGradGuard no_grad;
  return static_cast<double>(token_mean(values.detach(), keep, tokens).item());
}

// Variance over the real tokens of values (B, T).
template <typename T>
double token_variance(const Tensor<T>& values, const Tensor<T>& keep, int64_t tokens) {
  const std::vector<T> v = values.detach().contiguous().to_vector(), k = keep.to_vector();
  double mean = 0, square = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (k[i] == 0) continue;
    mean += static_cast<double>(v[i]);
    square += static_cast<double>(v[i]) * static_cast<double>(v[i]);
  }
  mean /= static_cast<double>(tokens);
  return square / static_cast<double>(tokens) - mean * mean;
}

// x (B, T, S, V) at the targets y (B, T): (B, T, S).
template <typename T>
Tensor<T> at_targets(const Tensor<T>& x, const IndexTensor& y) {
  const int64_t batch = x.size(0), steps = x.size(1), letters = x.size(2);
  // Padding targets (kPad, a valid id) are read and then weighted 0.
  const IndexTensor index = y.reshape({batch, steps, 1, 1}).expand({batch, steps, letters, 1}).contiguous();
  return gather(x, 3, index).reshape({batch, steps, letters});
}

// log_softmax(logits (B, T, V)) at the targets y (B, T): (B, T).
template <typename T>
Tensor<T> target_log_likelihood(const Tensor<T>& logits, const IndexTensor& y) {
  return gather(log_softmax(logits, -1), 2, y.reshape({y.size(0), y.size(1), 1})).reshape(y.shape());
}

// A (B, T, S) at the alignments z (B, T): (B, T).
template <typename T>
Tensor<T> at_alignments(const Tensor<T>& x, const IndexTensor& z) {
  return gather(x, 2, z.reshape({z.size(0), z.size(1), 1})).reshape(z.shape());
}

}  // namespace

const std::vector<std::string>& alignment_training_names() {
  static const std::vector<std::string> names = {
      "soft", "exact", "hard", "gumbel", "variational-enum", "variational-reinforce"};
  return names;
}

const std::string& alignment_training_name(AlignmentTraining alignment) {
  return alignment_training_names().at(static_cast<size_t>(alignment));
}

AlignmentTraining parse_alignment_training(const std::string& name) {
  const std::vector<std::string>& names = alignment_training_names();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<AlignmentTraining>(i);
  }
  ATTEND_CHECK(false, ValueError,
               "unknown attention '{}' for the recurrent G2P model (soft, exact, hard, gumbel, variational-enum, "
               "variational-reinforce)",
               name);
  return AlignmentTraining::kSoft;
}

template <typename T>
bool G2PRecurrent<T>::latent() const {
  return config_.alignment != AlignmentTraining::kSoft && config_.alignment != AlignmentTraining::kGumbel;
}

template <typename T>
typename G2PRecurrent<T>::Teacher G2PRecurrent<T>::teacher_forced(const IndexTensor& source,
                                                                  const IndexTensor& target_in) {
  ATTEND_CHECK(
      target_in.rank() == 2 && target_in.size(1) > 0 && source.rank() == 2 && target_in.size(0) == source.size(0),
      ShapeError, "G2PRecurrent: target {} must be (B, T), T >= 1, with the batch of source {}",
      shape_string(target_in.shape()), shape_string(source.shape()));
  Teacher teacher;
  teacher.encoded = encode(source);
  const Tensor<T> phonemes = dropout_->forward(phoneme_embedding_->forward(target_in));  // (B, T, E)
  std::vector<Tensor<T>> states, contexts, scores;                                       // T of (B, H), (B, 2H), (B, S)
  Tensor<T> state = teacher.encoded.initial;
  for (int64_t t = 0; t < target_in.size(1); ++t) {
    const Step step = decode_step(teacher.encoded, phonemes.slice(1, t, t + 1).squeeze(1), state);
    state = step.state;
    states.push_back(step.state);
    contexts.push_back(step.features.slice(1, config_.hidden_dim, 3 * config_.hidden_dim));
    scores.push_back(step.scores);
  }
  teacher.states = stack(states, 1);      // (B, T, H)
  teacher.contexts = stack(contexts, 1);  // (B, T, 2H)
  teacher.scores = stack(scores, 1);      // (B, T, S)
  return teacher;
}

template <typename T>
Tensor<T> G2PRecurrent<T>::aligned_log_probs(const Tensor<T>& states, const Tensor<T>& letters) {
  // W_out [s_t; h_j] + b = W_s s_t + W_h h_j + b: the two halves once each, then broadcast.
  const int64_t h = config_.hidden_dim;
  const Tensor<T>& weight = output_->weight();                                                             // (V, 3H)
  const Tensor<T> from_states = matmul(dropout_->forward(states), weight.slice(1, 0, h).transpose(0, 1));  // (B, T, V)
  const Tensor<T> from_letters =
      matmul(dropout_->forward(letters), weight.slice(1, h, 3 * h).transpose(0, 1));  // (B, S, V)
  const Tensor<T> logits = add(add(from_states.unsqueeze(2), from_letters.unsqueeze(1)), output_->bias());
  return log_softmax(logits, -1);  // (B, T, S, V)
}

template <typename T>
Tensor<T> G2PRecurrent<T>::posterior(const IndexTensor& source, const IndexTensor& target_out) {
  ATTEND_CHECK(inference_encoder_ != nullptr, ValueError,
               "G2PRecurrent: attention '{}' has no inference network (variational models have)",
               alignment_training_name(config_.alignment));
  const Encoded encoded = encode(source);
  MaskTensor target_padding = MaskTensor::empty(target_out.shape());
  const std::vector<int64_t> ids = target_out.to_vector();
  for (size_t i = 0; i < ids.size(); ++i) target_padding.data()[i] = ids[i] == Vocabulary::kPad;
  // g = BiGRU(Embed(y)) (B, T, 2H); q_t = softmax_j(g_t^T W_q h_j) over the real letters.
  const Tensor<T> phonemes = dropout_->forward(phoneme_embedding_->forward(target_out));  // (B, T, E)
  const Tensor<T> read = inference_encoder_->forward(phonemes, Tensor<T>(), target_padding).output;
  const Tensor<T> scores = inference_score_->scores(read, encoded.states);  // (B, T, S)
  const MaskTensor letters_padding = encoded.padding.unsqueeze(1);          // (B, 1, S)
  return masked_fill(scores, letters_padding, -std::numeric_limits<T>::infinity());
}

template <typename T>
AlignmentLoss<T> G2PRecurrent<T>::alignment_loss(const IndexTensor& source, const IndexTensor& target_in,
                                                 const IndexTensor& target_out) {
  ATTEND_CHECK(target_out.shape() == target_in.shape(), ShapeError,
               "G2PRecurrent: target_out {} must have the shape of target_in {}", shape_string(target_out.shape()),
               shape_string(target_in.shape()));
  AlignmentLoss<T> result;
  const std::vector<int64_t> ids = target_out.to_vector();
  Tensor<T> keep = Tensor<T>::empty(target_out.shape());  // (B, T): 1 on real tokens
  for (size_t i = 0; i < ids.size(); ++i) {
    keep.data()[i] = ids[i] == Vocabulary::kPad ? T(0) : T(1);
    result.tokens += ids[i] != Vocabulary::kPad;
  }
  ATTEND_CHECK(result.tokens > 0, ValueError, "G2PRecurrent: the batch's targets are all padding");
  const Teacher teacher = teacher_forced(source, target_in);
  // The soft output's log-likelihood log p(y_t | s_t, c_t) (B, T): the soft model's objective,
  // and the REINFORCE baseline.
  const Tensor<T> soft_logits =
      output_->forward(dropout_->forward(concat<T>({teacher.states, teacher.contexts}, 2)));  // (B, T, V)
  const Tensor<T> soft_log_likelihood = target_log_likelihood(soft_logits, target_out);
  const AlignmentTraining mode = config_.alignment;
  if (mode == AlignmentTraining::kSoft) {
    result.loss = neg(token_mean(soft_log_likelihood, keep, result.tokens));
    result.marginal_nll = static_cast<double>(result.loss.detach().item());
    return result;
  }
  if (mode == AlignmentTraining::kGumbel) {
    // c'_t = sum_j y_tj h_j with y = gumbel_softmax(e_t, tau)
    const Tensor<T> relaxed = gumbel_softmax(teacher.scores, config_.gumbel_temperature, alignment_seeds_.next_u64());
    const Tensor<T> context = matmul(relaxed, teacher.encoded.states);  // (B, T, 2H)
    const Tensor<T> logits = output_->forward(dropout_->forward(concat<T>({teacher.states, context}, 2)));
    const Tensor<T> log_likelihood = target_log_likelihood(logits, target_out);
    result.loss = neg(token_mean(log_likelihood, keep, result.tokens));
    result.marginal_nll = -token_mean_value(soft_log_likelihood, keep, result.tokens);
    return result;
  }
  // log p(y_t | z = j) (B, T, S) and the prior log a_t (B, T, S).
  const Tensor<T> per_letter = at_targets(aligned_log_probs(teacher.states, teacher.encoded.states), target_out);
  const Tensor<T> log_prior = log_softmax(teacher.scores, -1);
  const Tensor<T> marginal = log_marginal_likelihood(log_prior, per_letter);  // (B, T)
  result.marginal_nll = -token_mean_value(marginal, keep, result.tokens);
  const Tensor<T> baseline = soft_log_likelihood.detach();
  if (mode == AlignmentTraining::kExact) {
    result.loss = neg(token_mean(marginal, keep, result.tokens));
  } else if (mode == AlignmentTraining::kHard) {
    // z ~ a_t; maximize f + (f - b) log a_tz, f = log p(y_t | z)
    const IndexTensor z = sample_categorical(teacher.scores, alignment_seeds_.next_u64());
    const Tensor<T> reward = at_alignments(per_letter, z);
    const Tensor<T> surrogate = reinforce_surrogate(categorical_log_prob(teacher.scores, z), reward, baseline);
    result.loss = neg(token_mean(add(reward, surrogate), keep, result.tokens));
    result.signal_variance = token_variance(sub(reward.detach(), baseline), keep, result.tokens);
    result.estimated = neg(token_mean(sum(mul(exp(log_prior), per_letter), {2}), keep, result.tokens));
  } else {
    const Tensor<T> q_scores = posterior(source, target_out);  // (B, T, S)
    const Tensor<T> log_q = log_softmax(q_scores, -1);
    const Tensor<T> kl = categorical_kl(log_q, log_prior);  // (B, T)
    result.kl = token_mean_value(kl, keep, result.tokens);
    // E_q[log p(y_t | z)] by enumeration (B, T)
    const Tensor<T> enumerated =
        sum(mul(exp(log_q), masked_fill(per_letter, teacher.encoded.padding.unsqueeze(1), T(0))), {2});
    Tensor<T> expected;  // the enumeration, or its one-sample REINFORCE surrogate (B, T)
    if (mode == AlignmentTraining::kVariationalEnum) {
      expected = enumerated;
    } else {
      result.estimated = neg(token_mean(sub(enumerated, kl), keep, result.tokens));
      const IndexTensor z = sample_categorical(q_scores, alignment_seeds_.next_u64());
      const Tensor<T> reward = at_alignments(per_letter, z);
      expected = add(reward, reinforce_surrogate(categorical_log_prob(q_scores, z), reward, baseline));
      result.signal_variance = token_variance(sub(reward.detach(), baseline), keep, result.tokens);
    }
    // -ELBO = -(E_q[log p(y_t | z)] - KL(q_t || a_t))
    result.loss = neg(token_mean(sub(expected, kl), keep, result.tokens));
  }
  return result;
}

#define ATTEND_INSTANTIATE(T)                                                                                         \
  template bool G2PRecurrent<T>::latent() const;                                                                      \
  template typename G2PRecurrent<T>::Teacher G2PRecurrent<T>::teacher_forced(const IndexTensor&, const IndexTensor&); \
  template Tensor<T> G2PRecurrent<T>::aligned_log_probs(const Tensor<T>&, const Tensor<T>&);                          \
  template Tensor<T> G2PRecurrent<T>::posterior(const IndexTensor&, const IndexTensor&);                              \
  template AlignmentLoss<T> G2PRecurrent<T>::alignment_loss(const IndexTensor&, const IndexTensor&, const IndexTensor&);
ATTEND_INSTANTIATE(float)
ATTEND_INSTANTIATE(double)
#undef ATTEND_INSTANTIATE

}  // namespace attend::models
