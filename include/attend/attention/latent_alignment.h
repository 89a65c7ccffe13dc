// Attention as a latent variable: the alignment z (which key a query reads) is a categorical
// random variable with probabilities p = softmax(S) over a row of scores S. These are the
// pieces that train it (Xu et al. 2015; Jang et al. 2017; Maddison et al. 2017; Deng, Kim,
// Chiu, Guo and Rush 2018, "Latent Alignment and Variational Attention"), each exact and
// differentiable where the math is; the last axis is the keys', every other axis is a row.
//
//   sampling        z ~ Cat(softmax(S)) by Gumbel-max: z = argmax_j (S_j + g_j),
//                   g_j = -log(-log u_j), u_j ~ U(0, 1) from a counter-based stream (seed)
//   REINFORCE       grad E_p[f(z)] = E_p[(f(z) - b) grad log p(z)] for any b that does not
//                   depend on z: categorical_log_prob gives log p(z), differentiable in S
//   Gumbel-softmax  y = softmax((S + g) / tau), a relaxed one-hot that tends to the
//                   Gumbel-max sample as tau -> 0; straight-through: forward the one-hot of
//                   argmax y, backward the gradient of the relaxed y
//   exact marginal  log p(y) = log sum_j p(z = j) p(y | z = j)
//                   = logsumexp_j (log p(z = j) + log p(y | z = j))
//   categorical KL  KL(q || p) = sum_j q_j (log q_j - log p_j), closed form, for the ELBO
//                   E_q[log p(y | z)] - KL(q || p) <= log p(y) (equal when q is the posterior)
//
// Masked keys have score -inf (masked_fill): probability 0, never sampled, 0 in the relaxed
// weights, and their terms count 0 in the KL. A row with no allowed key has no distribution:
// sampling refuses it (ValueError naming the row); gumbel_softmax gives zeros there, as
// softmax does. NaN scores make their row NaN (sampling refuses them too).
#pragma once

#include <cstdint>

#include "attend/core/tensor.h"

namespace attend {

// The Gumbel noise g (the shape of `scores`) that seed gives: element e (row-major) is drawn
// from Generator(seed) as the e-th uniform. The same noise as gumbel_softmax and
// sample_categorical with that seed use. A constant (no autograd history).
template <typename T>
Tensor<T> gumbel_noise(const Shape& shape, uint64_t seed);

// softmax((S + g) / tau) over the last axis (temperature tau > 0, finite; ValueError
// otherwise). straight_through: the one-hot of each row's argmax (lowest index on ties) in the
// forward pass, with the relaxed weights' gradient (y_hard + y - stop_gradient(y)).
template <typename T>
Tensor<T> gumbel_softmax(const Tensor<T>& scores, double temperature, uint64_t seed, bool straight_through = false);

// One alignment per row: z = argmax_j (S_j + g_j), an exact sample of softmax(S). Shape: the
// scores' without the last axis. ValueError naming the first row that has no allowed key or a
// NaN.
template <typename T>
IndexTensor sample_categorical(const Tensor<T>& scores, uint64_t seed);

// log softmax(S)[z] per row (the scores' shape without the last axis), differentiable in S.
// ShapeError unless z has that shape; ValueError for an index outside [0, M).
template <typename T>
Tensor<T> categorical_log_prob(const Tensor<T>& scores, const IndexTensor& z);

// The REINFORCE surrogate (f - b) log p(z), whose gradient is the score-function estimate
// (f - b) grad log p(z) of grad E_p[f(z)]: f (the reward, e.g. log p(y | z)) and b (a baseline)
// are taken as constants (their history is not followed). All three of the same shape.
template <typename T>
Tensor<T> reinforce_surrogate(const Tensor<T>& log_prob, const Tensor<T>& reward, const Tensor<T>& baseline);

// KL(q || p) per row from log-probabilities log_q, log_p (same shape; rows that are
// distributions over the last axis): sum over j with q_j > 0 of q_j (log q_j - log p_j).
// +inf where q puts mass on a key p rules out.
template <typename T>
Tensor<T> categorical_kl(const Tensor<T>& log_q, const Tensor<T>& log_p);

// log sum_j exp(log_prior_j + log_likelihood_j) per row (same shapes): the exact marginal
// likelihood of a latent alignment; -inf for a row with no allowed key.
template <typename T>
Tensor<T> log_marginal_likelihood(const Tensor<T>& log_prior, const Tensor<T>& log_likelihood);

}  // namespace attend
