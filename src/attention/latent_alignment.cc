// Attention as a latent variable (the math is in attention/latent_alignment.h): composed from
// differentiable ops, plus the noise and the argmax, which are constants.
#include "attend/attention/latent_alignment.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/random.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/indexing.h"
#include "attend/ops/masking.h"
#include "attend/ops/reduction.h"
#include "attend/ops/softmax.h"

namespace attend {
namespace {

void check_temperature(double temperature) {
  ATTEND_CHECK(std::isfinite(temperature) && temperature > 0, ValueError,
               "gumbel_softmax: the temperature must be finite and > 0, got {}", temperature);
}

void check_rows(const char* op, const Shape& shape) {
  ATTEND_CHECK(!shape.empty() && shape.back() >= 1, ShapeError, "{}: scores {} need a last axis of at least one key",
               op, shape_string(shape));
}

// The shape without the last axis.
Shape rows_shape(const Shape& shape) { return Shape(shape.begin(), shape.end() - 1); }

// Per row of x (rows, M) contiguous: the index of the largest entry, lowest on ties; -1 for a
// row of -inf only, -2 for a row holding a NaN.
template <typename T>
std::vector<int64_t> row_argmax(const std::vector<T>& x, int64_t keys) {
  std::vector<int64_t> best(x.size() / static_cast<size_t>(keys), -1);
  for (size_t r = 0; r < best.size(); ++r) {
    T top = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < keys; ++j) {
      const T value = x[r * keys + j];
      if (std::isnan(value)) {
        best[r] = -2;
        break;
      }
      if (value > top) {
        top = value;
        best[r] = j;
      }
    }
  }
  return best;
}

}  // namespace

template <typename T>
Tensor<T> gumbel_noise(const Shape& shape, uint64_t seed) {
  Generator generator(seed);
  Tensor<T> noise = Tensor<T>::empty(shape);
  T* g = noise.data();
  for (int64_t e = 0; e < noise.numel(); ++e) {
    // u in (0, 1): 0 (one chance in 2^53) is moved just above it, so that g stays finite.
    const double u = std::max(generator.uniform(), 0x1p-60);
    g[e] = static_cast<T>(-std::log(-std::log(u)));
  }
  return noise;
}

template <typename T>
Tensor<T> gumbel_softmax(const Tensor<T>& scores, double temperature, uint64_t seed, bool straight_through) {
  check_rows("gumbel_softmax", scores.shape());
  check_temperature(temperature);
  // y = softmax((S + g) / tau)
  const Tensor<T> y =
      softmax(mul_scalar(add(scores, gumbel_noise<T>(scores.shape(), seed)), static_cast<T>(1.0 / temperature)));
  if (!straight_through) return y;
  // y_hard + y - stop_gradient(y): the one-hot forward, the relaxed gradient backward.
  const int64_t keys = scores.shape().back();
  const std::vector<int64_t> best = row_argmax(y.detach().contiguous().to_vector(), keys);
  Tensor<T> hard = Tensor<T>::zeros(scores.shape());
  T* h = hard.data();
  for (size_t r = 0; r < best.size(); ++r) {
    if (best[r] == -2) {
      std::fill_n(h + r * keys, keys, std::numeric_limits<T>::quiet_NaN());
    } else if (best[r] >= 0 && y.detach().contiguous().data()[r * keys + best[r]] > 0) {
      h[r * keys + best[r]] = 1;
    }
  }
  return add(hard, sub(y, y.detach()));
}

template <typename T>
IndexTensor sample_categorical(const Tensor<T>& scores, uint64_t seed) {
  check_rows("sample_categorical", scores.shape());
  const int64_t keys = scores.shape().back();
  // z = argmax_j (S_j + g_j), outside the tape (a sample has no gradient).
  NoGradGuard no_grad;
  const std::vector<T> perturbed = add(scores.detach(), gumbel_noise<T>(scores.shape(), seed)).contiguous().to_vector();
  const std::vector<int64_t> best = row_argmax(perturbed, keys);
  for (size_t r = 0; r < best.size(); ++r) {
    ATTEND_CHECK(best[r] >= 0, ValueError, "sample_categorical: row {} of scores {} {}; it has no distribution", r,
                 shape_string(scores.shape()), best[r] == -1 ? "allows no key (every score -inf)" : "holds a NaN");
  }
  return IndexTensor::from_vector(rows_shape(scores.shape()), best);
}

template <typename T>
Tensor<T> categorical_log_prob(const Tensor<T>& scores, const IndexTensor& z) {
  check_rows("categorical_log_prob", scores.shape());
  ATTEND_CHECK(z.shape() == rows_shape(scores.shape()), ShapeError,
               "categorical_log_prob: alignments {} must have the shape of scores {} without its last axis",
               shape_string(z.shape()), shape_string(scores.shape()));
  Shape column = z.shape();
  column.push_back(1);
  // log p(z) = log_softmax(S)[z]   (rows, 1) -> (rows)
  return gather(log_softmax(scores), -1, z.reshape(column)).reshape(z.shape());
}

template <typename T>
Tensor<T> reinforce_surrogate(const Tensor<T>& log_prob, const Tensor<T>& reward, const Tensor<T>& baseline) {
  ATTEND_CHECK(reward.shape() == log_prob.shape() && baseline.shape() == log_prob.shape(), ShapeError,
               "reinforce_surrogate: log_prob {}, reward {} and baseline {} must have one shape",
               shape_string(log_prob.shape()), shape_string(reward.shape()), shape_string(baseline.shape()));
  // (f - b) log p(z), with f - b a constant
  return mul(sub(reward.detach(), baseline.detach()), log_prob);
}

template <typename T>
Tensor<T> categorical_kl(const Tensor<T>& log_q, const Tensor<T>& log_p) {
  ATTEND_CHECK(log_q.shape() == log_p.shape() && log_q.rank() >= 1, ShapeError,
               "categorical_kl: log_q {} and log_p {} must have one shape, with a last axis",
               shape_string(log_q.shape()), shape_string(log_p.shape()));
  // Where q_j = 0 (log q_j = -inf) the term is 0: both logs are replaced by 0 there before the
  // difference, so that neither the value nor the gradient meets -inf - (-inf) or 0 * inf.
  MaskTensor outside;  // 1 where q_j = 0
  {
    NoGradGuard no_grad;
    const std::vector<T> lq = log_q.detach().contiguous().to_vector();
    std::vector<uint8_t> flags(lq.size());
    for (size_t i = 0; i < lq.size(); ++i) flags[i] = lq[i] == -std::numeric_limits<T>::infinity();
    outside = MaskTensor::from_vector(log_q.shape(), flags);
  }
  const Tensor<T> q = exp(log_q);
  // sum_j q_j (log q_j - log p_j)
  return sum(mul(q, sub(masked_fill(log_q, outside, T(0)), masked_fill(log_p, outside, T(0)))), {-1});
}

template <typename T>
Tensor<T> log_marginal_likelihood(const Tensor<T>& log_prior, const Tensor<T>& log_likelihood) {
  ATTEND_CHECK(log_prior.shape() == log_likelihood.shape() && log_prior.rank() >= 1, ShapeError,
               "log_marginal_likelihood: log_prior {} and log_likelihood {} must have one shape, with a last axis",
               shape_string(log_prior.shape()), shape_string(log_likelihood.shape()));
  // logsumexp_j (log p(z = j) + log p(y | z = j))
  return logsumexp(add(log_prior, log_likelihood), -1);
}

#define ATTEND_INSTANTIATE(T)                                                                   \
  template Tensor<T> gumbel_noise<T>(const Shape&, uint64_t);                                   \
  template Tensor<T> gumbel_softmax(const Tensor<T>&, double, uint64_t, bool);                  \
  template IndexTensor sample_categorical(const Tensor<T>&, uint64_t);                          \
  template Tensor<T> categorical_log_prob(const Tensor<T>&, const IndexTensor&);                \
  template Tensor<T> reinforce_surrogate(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&); \
  template Tensor<T> categorical_kl(const Tensor<T>&, const Tensor<T>&);                        \
  template Tensor<T> log_marginal_likelihood(const Tensor<T>&, const Tensor<T>&);
ATTEND_INSTANTIATE(float)
ATTEND_INSTANTIATE(double)
#undef ATTEND_INSTANTIATE

}  // namespace attend
