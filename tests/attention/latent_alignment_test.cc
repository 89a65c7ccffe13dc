// Attention as a latent variable: every differentiable piece through the op harness (float32
// against float64, finite differences in float64, strided views, thread counts); sampling
// against its distribution and the REINFORCE estimate against the exact gradient, as
// statistical tests with fixed seeds and bounds of four standard errors; Gumbel-softmax tending
// to the Gumbel-max sample as the temperature falls; the KL and the exact marginal against
// float64 loops, and the ELBO equal to the marginal at the posterior.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "attend/attention/latent_alignment.h"
#include "attend/core/random.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/masking.h"
#include "attend/ops/reduction.h"
#include "attend/ops/softmax.h"
#include "harness/expect_error.h"
#include "harness/op_harness.h"

namespace attend {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Keys 1 and 3 of row 0 and key 0 of row 2 masked, in a (2, 3, 5) block of scores.
template <typename T>
Tensor<T> with_masked_keys(const Tensor<T>& scores) {
  std::vector<uint8_t> masked(30, 0);
  masked[1] = masked[3] = masked[10] = 1;
  return masked_fill(scores, MaskTensor::from_vector({2, 3, 5}, masked), -std::numeric_limits<T>::infinity());
}

TEST(LatentAlignment, DifferentiablePiecesPassTheOpHarness) {
  EXPECT_OP_OK(testing::make_case("gumbel_softmax tau 0.7", {{{2, 3, 5}}},
                                  [](const auto& x) { return gumbel_softmax(with_masked_keys(x[0]), 0.7, 11); }));
  EXPECT_OP_OK(testing::make_case("categorical_log_prob", {{{2, 3, 5}}}, [](const auto& x) {
    const IndexTensor z = IndexTensor::from_vector({2, 3}, {0, 4, 2, 1, 3, 3});
    return categorical_log_prob(with_masked_keys(x[0]), z);
  }));
  EXPECT_OP_OK(testing::make_case("categorical_kl", {{{2, 3, 5}}, {{2, 3, 5}}}, [](const auto& x) {
    return categorical_kl(log_softmax(with_masked_keys(x[0])), log_softmax(x[1]));
  }));
  EXPECT_OP_OK(testing::make_case("log_marginal_likelihood", {{{2, 3, 5}}, {{2, 3, 5}}}, [](const auto& x) {
    return log_marginal_likelihood(log_softmax(with_masked_keys(x[0])), x[1]);
  }));
}

TEST(LatentAlignment, SamplesFollowTheSoftmax) {
  // One row of 4 keys repeated: the frequencies of 40,000 samples against softmax(S), each
  // within four standard errors sqrt(p (1 - p) / n).
  const std::vector<double> row = {0.5, -1.0, 1.5, 0.0};
  const int64_t n = 40000;
  std::vector<double> repeated;
  for (int64_t i = 0; i < n; ++i) repeated.insert(repeated.end(), row.begin(), row.end());
  const auto scores = Tensor64::from_vector({n, 4}, repeated);
  const std::vector<int64_t> z = sample_categorical(scores, 5).to_vector();
  std::vector<double> counts(4, 0);
  for (const int64_t k : z) counts[k] += 1;
  const std::vector<double> p = softmax(Tensor64::from_vector({4}, row)).to_vector();
  for (int j = 0; j < 4; ++j) {
    const double standard_error = std::sqrt(p[j] * (1 - p[j]) / n);
    EXPECT_NEAR(counts[j] / n, p[j], 4 * standard_error) << "key " << j;
  }
  // A masked key is never drawn.
  const auto masked = masked_fill(scores, MaskTensor::from_vector({1, 4}, {0, 0, 1, 0}), -kInf);
  for (const int64_t k : sample_categorical(masked, 6).to_vector()) ASSERT_NE(k, 2);
}

TEST(LatentAlignment, ReinforceEstimatesTheExactGradient) {
  // E_p[f(z)] for p = softmax(S) and a reward f per key: its exact gradient is
  // dE/dS_j = p_j (f_j - E_p f). The mean of n REINFORCE estimates (f(z) - b) grad log p(z), with
  // and without a baseline, must fall within four standard errors of it, component by
  // component.
  const std::vector<double> s = {0.3, -0.4, 1.1, 0.0, -1.2}, f = {1.0, -2.0, 0.5, 3.0, -1.0};
  const int64_t n = 20000, keys = 5;
  const std::vector<double> p = softmax(Tensor64::from_vector({keys}, s)).to_vector();
  double mean_f = 0;
  for (int64_t j = 0; j < keys; ++j) mean_f += p[j] * f[j];
  for (const double baseline : {0.0, mean_f}) {
    std::vector<double> repeated;
    for (int64_t i = 0; i < n; ++i) repeated.insert(repeated.end(), s.begin(), s.end());
    Tensor64 scores = Tensor64::from_vector({n, keys}, repeated).set_requires_grad();
    const IndexTensor z = sample_categorical(scores, 21);
    std::vector<double> rewards;
    for (const int64_t k : z.to_vector()) rewards.push_back(f[k]);
    const Tensor64 surrogate = reinforce_surrogate(categorical_log_prob(scores, z), Tensor64::from_vector({n}, rewards),
                                                   Tensor64::full({n}, baseline));
    sum(surrogate).backward();
    const std::vector<double> per_sample = scores.grad().to_vector();  // (n, keys): one estimate per row
    for (int64_t j = 0; j < keys; ++j) {
      double mean = 0, square = 0;
      for (int64_t i = 0; i < n; ++i) {
        mean += per_sample[i * keys + j];
        square += per_sample[i * keys + j] * per_sample[i * keys + j];
      }
      mean /= n;
      const double variance = square / n - mean * mean;
      const double exact = p[j] * (f[j] - mean_f);
      EXPECT_NEAR(mean, exact, 4 * std::sqrt(variance / n)) << "key " << j << ", baseline " << baseline;
    }
  }
}

TEST(LatentAlignment, AReinforceBaselineShrinksTheVariance) {
  // The same estimator's summed per-component variance, without and with b = E_p f.
  const std::vector<double> s = {0.3, -0.4, 1.1}, f = {4.0, 5.0, 6.0};  // rewards far from 0
  const int64_t n = 5000;
  const std::vector<double> p = softmax(Tensor64::from_vector({3}, s)).to_vector();
  const double mean_f = p[0] * f[0] + p[1] * f[1] + p[2] * f[2];
  std::vector<double> variances;
  for (const double baseline : {0.0, mean_f}) {
    std::vector<double> repeated;
    for (int64_t i = 0; i < n; ++i) repeated.insert(repeated.end(), s.begin(), s.end());
    Tensor64 scores = Tensor64::from_vector({n, 3}, repeated).set_requires_grad();
    const IndexTensor z = sample_categorical(scores, 3);
    std::vector<double> rewards;
    for (const int64_t k : z.to_vector()) rewards.push_back(f[k]);
    sum(reinforce_surrogate(categorical_log_prob(scores, z), Tensor64::from_vector({n}, rewards),
                            Tensor64::full({n}, baseline)))
        .backward();
    const std::vector<double> g = scores.grad().to_vector();
    double variance = 0;
    for (int j = 0; j < 3; ++j) {
      double mean = 0, square = 0;
      for (int64_t i = 0; i < n; ++i) {
        mean += g[i * 3 + j];
        square += g[i * 3 + j] * g[i * 3 + j];
      }
      variance += square / n - (mean / n) * (mean / n);
    }
    variances.push_back(variance);
  }
  EXPECT_LT(variances[1], variances[0] / 10) << variances[0] << " vs " << variances[1];
}

// Straight-through is a biased estimator by design (its forward is piecewise constant, so finite
// differences see 0): its gradient must be the relaxed weights' gradient, bit for bit.
TEST(LatentAlignment, StraightThroughCarriesTheRelaxedGradient) {
  Generator generator(17);
  const auto scores = with_masked_keys(Tensor64::randn({2, 3, 5}, generator));
  const auto upstream = Tensor64::randn({2, 3, 5}, generator);
  std::vector<std::vector<double>> gradients;
  for (const bool straight_through : {false, true}) {
    Tensor64 s = scores.clone().set_requires_grad();
    gumbel_softmax(s, 0.5, 8, straight_through).backward(upstream);
    gradients.push_back(s.grad().to_vector());
  }
  EXPECT_EQ(gradients[0], gradients[1]);
  double size = 0;
  for (const double g : gradients[0]) size += std::abs(g);
  EXPECT_GT(size, 1e-3);
}

TEST(LatentAlignment, GumbelSoftmaxTendsToTheGumbelMaxSample) {
  Generator generator(9);
  const auto scores = with_masked_keys(Tensor64::randn({2, 3, 5}, generator));
  const std::vector<int64_t> z = sample_categorical(scores, 77).to_vector();
  double previous_gap = kInf;
  for (const double tau : {10.0, 1.0, 0.1, 0.01}) {
    const std::vector<double> y = gumbel_softmax(scores, tau, 77).to_vector();
    double gap = 0;  // max |y - one_hot(z)|
    for (size_t r = 0; r < z.size(); ++r) {
      for (int64_t j = 0; j < 5; ++j) gap = std::max(gap, std::abs(y[r * 5 + j] - (j == z[r] ? 1.0 : 0.0)));
    }
    EXPECT_LT(gap, previous_gap) << "tau " << tau;
    previous_gap = gap;
  }
  EXPECT_LT(previous_gap, 1e-6);
  // The straight-through forward is that one-hot exactly, at any temperature.
  const std::vector<double> hard = gumbel_softmax(scores, 5.0, 77, true).to_vector();
  for (size_t r = 0; r < z.size(); ++r) {
    for (int64_t j = 0; j < 5; ++j) ASSERT_EQ(hard[r * 5 + j], j == z[r] ? 1.0 : 0.0) << r << ", " << j;
  }
}

TEST(LatentAlignment, KlAndMarginalMatchLoopsAndTheElboMeetsTheMarginalAtThePosterior) {
  Generator generator(13);
  const auto prior_scores = with_masked_keys(Tensor64::randn({2, 3, 5}, generator));
  const auto log_likelihood = Tensor64::randn({2, 3, 5}, generator);
  const auto log_prior = log_softmax(prior_scores);
  const auto q_scores = with_masked_keys(Tensor64::randn({2, 3, 5}, generator));
  const auto log_q = log_softmax(q_scores);
  const std::vector<double> lp = log_prior.to_vector(), lq = log_q.to_vector(), ll = log_likelihood.to_vector();
  const std::vector<double> kl = categorical_kl(log_q, log_prior).to_vector();
  const std::vector<double> marginal = log_marginal_likelihood(log_prior, log_likelihood).to_vector();
  for (int64_t r = 0; r < 6; ++r) {
    double expected_kl = 0, expected_marginal = 0;
    for (int64_t j = 0; j < 5; ++j) {
      const double q = std::exp(lq[r * 5 + j]);
      if (q > 0) expected_kl += q * (lq[r * 5 + j] - lp[r * 5 + j]);
      expected_marginal += std::exp(lp[r * 5 + j] + ll[r * 5 + j]);
    }
    EXPECT_NEAR(kl[r], expected_kl, 1e-12) << r;
    EXPECT_NEAR(marginal[r], std::log(expected_marginal), 1e-12) << r;
  }
  // ELBO(q) = E_q[log p(y | z)] - KL(q || p) <= log p(y), with equality for the posterior
  // q*(z) = p(z) p(y | z) / p(y).
  const auto elbo = [&](const Tensor64& log_posterior) {
    return sub(sum(mul(exp(log_posterior), log_likelihood), {-1}), categorical_kl(log_posterior, log_prior))
        .to_vector();
  };
  const std::vector<double> at_q = elbo(log_q), at_posterior = elbo(log_softmax(add(log_prior, log_likelihood)));
  for (int64_t r = 0; r < 6; ++r) {
    EXPECT_LE(at_q[r], marginal[r] + 1e-12) << r;
    EXPECT_NEAR(at_posterior[r], marginal[r], 1e-12) << r;
  }
  // KL(q || q) = 0; mass where p has none: +inf.
  for (const double value : categorical_kl(log_q, log_q).to_vector()) EXPECT_EQ(value, 0.0);
  const auto p_without_key_4 =
      log_softmax(masked_fill(q_scores, MaskTensor::from_vector({1, 1, 5}, {0, 0, 0, 0, 1}), -kInf));
  EXPECT_EQ(categorical_kl(log_q, p_without_key_4).to_vector()[1], kInf);
}

TEST(LatentAlignment, RowsWithoutADistributionAndBadArgumentsAreRefused) {
  const auto scores = masked_fill(Tensor32::zeros({2, 3}), MaskTensor::from_vector({2, 3}, {0, 0, 0, 1, 1, 1}),
                                  -std::numeric_limits<float>::infinity());
  expect_error<ValueError>([&] { sample_categorical(scores, 1); },
                           {"row 1 of scores (2, 3) allows no key (every score -inf)"});
  const auto with_nan = Tensor32::from_vector({1, 2}, {0.0f, std::nanf("")});
  expect_error<ValueError>([&] { sample_categorical(with_nan, 1); }, {"row 0 of scores (1, 2) holds a NaN"});
  // A fully masked row gives zeros in the relaxed weights, as softmax does; a NaN stays NaN.
  const std::vector<float> y = gumbel_softmax(scores, 1.0, 3).to_vector();
  for (int j = 3; j < 6; ++j) EXPECT_EQ(y[j], 0.0f);
  EXPECT_TRUE(std::isnan(gumbel_softmax(with_nan, 1.0, 3).to_vector()[0]));
  EXPECT_TRUE(std::isnan(gumbel_softmax(with_nan, 1.0, 3, true).to_vector()[0]));
  for (const double tau : {0.0, -1.0, kInf}) {
    expect_error<ValueError>([&] { gumbel_softmax(scores, tau, 1); }, {"temperature must be finite and > 0"});
  }
  expect_error<ShapeError>([&] { categorical_log_prob(scores, IndexTensor::zeros({3})); },
                           {"alignments (3) must have the shape of scores (2, 3) without its last axis"});
  expect_error<ShapeError>(
      [&] {
        categorical_kl(Tensor32::zeros({2, 3}), Tensor32::zeros({3, 2}));
      },
      {"log_q (2, 3) and log_p (3, 2) must have one shape"});
}

}  // namespace
}  // namespace attend
