// G2PRecurrent with attention as a latent alignment (models/g2p_recurrent.h): the exact marginal
// and the enumerated ELBO by finite differences in float64; the marginal against a float64 loop
// over the letters; ELBO <= marginal; the sampled objectives reaching every parameter they
// should; decoding with the marginal under the prior; the factory's round trip of a variational
// model; refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "attend/models/g2p_factory.h"
#include "attend/models/g2p_recurrent.h"
#include "harness/expect_error.h"
#include "harness/module_gradcheck.h"
#include "harness/temp_dir.h"

namespace attend {
namespace {

models::G2PModelSpec gru_spec() {
  models::G2PModelSpec spec;
  spec.architecture = "gru";
  return spec;
}

using models::AlignmentTraining;
using models::G2PRecurrent;
using models::Vocabulary;

const Vocabulary kLetters = models::letter_vocabulary();
const Vocabulary kPhonemes = models::phoneme_vocabulary();

template <typename T>
std::unique_ptr<G2PRecurrent<T>> latent_model(AlignmentTraining alignment, uint64_t seed = 3) {
  Generator generator(seed);
  return std::make_unique<G2PRecurrent<T>>(
      models::G2PRecurrentConfig{
          .embedding_dim = 3, .hidden_dim = 4, .dropout = 0.0, .max_length = 12, .alignment = alignment},
      kLetters.size(), kPhonemes.size(), generator);
}

// Two words of different lengths ("ab", "cde") and their pronunciations: source (2, 4), target_in
// and target_out (2, 4), padded.
struct Batch {
  IndexTensor source, target_in, target_out;
};
Batch tiny_batch() {
  const std::vector<std::vector<std::string>> pronunciations = {{"AA", "B"}, {"K", "D", "IY"}};
  std::vector<std::vector<int64_t>> letters, in, out;
  for (const std::string word : {"ab", "cde"}) letters.push_back(models::encode_word(kLetters, word));
  for (const auto& phonemes : pronunciations) {
    in.push_back({Vocabulary::kStart});
    out.emplace_back();
    for (const auto& p : phonemes) {
      in.back().push_back(kPhonemes.id(p));
      out.back().push_back(kPhonemes.id(p));
    }
    out.back().push_back(Vocabulary::kEnd);
  }
  return {models::pad_batch(letters), models::pad_batch(in), models::pad_batch(out)};
}

TEST(G2PLatent, ExactAndEnumeratedObjectivesHaveTheirGradients) {
  const Batch batch = tiny_batch();
  for (const AlignmentTraining alignment :
       {AlignmentTraining::kSoft, AlignmentTraining::kExact, AlignmentTraining::kVariationalEnum}) {
    auto model = latent_model<double>(alignment);
    const auto loss = [&] { return model->alignment_loss(batch.source, batch.target_in, batch.target_out).loss; };
    EXPECT_EQ(testing::check_parameter_gradients(*model, loss, 1e-6, 16), "")
        << models::alignment_training_name(alignment);
  }
}

TEST(G2PLatent, TheSoftObjectiveIsTheCrossEntropyOfForward) {
  const Batch batch = tiny_batch();
  auto model = latent_model<double>(AlignmentTraining::kSoft);
  const double from_forward =
      cross_entropy(model->forward(batch.source, batch.target_in), batch.target_out, {.ignore_index = Vocabulary::kPad})
          .item();
  const auto objective = model->alignment_loss(batch.source, batch.target_in, batch.target_out);
  EXPECT_NEAR(objective.loss.item(), from_forward, 1e-12);
  EXPECT_EQ(objective.tokens, 7);  // 3 + 4 phonemes with </s>
}

// Training (log_marginal_likelihood over the whole batch) and decoding (a step at a time, as
// greedy and beam search run) compute the marginal by different code; they must agree, and
// the decoder's rows must be distributions.
TEST(G2PLatent, TrainingAndDecodingAgreeOnTheMarginal) {
  const Batch batch = tiny_batch();
  for (const AlignmentTraining alignment : {AlignmentTraining::kExact, AlignmentTraining::kHard,
                                            AlignmentTraining::kVariationalEnum, AlignmentTraining::kSoft}) {
    auto model = latent_model<double>(alignment, 5);
    const auto objective = model->alignment_loss(batch.source, batch.target_in, batch.target_out);
    const Tensor64 log_probs = model->decoding_log_probs(batch.source, batch.target_in);  // (2, 4, V)
    const std::vector<double> lp = log_probs.to_vector(), total = logsumexp(log_probs, -1).to_vector();
    for (const double t : total) ASSERT_NEAR(t, 0.0, 1e-12);
    const std::vector<int64_t> y = batch.target_out.to_vector();
    const int64_t v = kPhonemes.size();
    double nll = 0;
    int64_t tokens = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      if (y[i] == Vocabulary::kPad) continue;
      nll -= lp[i * v + y[i]];
      ++tokens;
    }
    EXPECT_NEAR(nll / tokens, objective.marginal_nll, 1e-12) << models::alignment_training_name(alignment);
  }
}

TEST(G2PLatent, TheElboBoundsTheMarginal) {
  const Batch batch = tiny_batch();
  auto variational = latent_model<double>(AlignmentTraining::kVariationalEnum, 5);
  const auto bound = variational->alignment_loss(batch.source, batch.target_in, batch.target_out);
  EXPECT_GE(bound.loss.item(), bound.marginal_nll - 1e-12);  // -ELBO >= -log p(y)
  EXPECT_GT(bound.kl, 0.0);
  // Its posterior: a distribution over the letters of each word, none on padding.
  const std::vector<double> q =
      softmax(variational->posterior(batch.source, batch.target_out), -1).to_vector();  // (2, 4, 4)
  for (int64_t t = 0; t < 4; ++t) {
    EXPECT_NEAR(q[t * 4 + 0] + q[t * 4 + 1] + q[t * 4 + 2], 1.0, 1e-12);  // "ab" + </s>
    EXPECT_EQ(q[t * 4 + 3], 0.0);
  }
}

// The sampled objectives: finite, their estimator's signal variance logged, and gradients that
// reach the prior's parameters (REINFORCE through log a_z) and, for variational-reinforce, the
// inference network (through log q_z and the KL).
TEST(G2PLatent, SampledObjectivesReachTheirParameters) {
  const Batch batch = tiny_batch();
  for (const AlignmentTraining alignment :
       {AlignmentTraining::kHard, AlignmentTraining::kGumbel, AlignmentTraining::kVariationalReinforce}) {
    auto model = latent_model<float>(alignment, 7);
    const auto objective = model->alignment_loss(batch.source, batch.target_in, batch.target_out);
    ASSERT_TRUE(std::isfinite(objective.loss.item())) << models::alignment_training_name(alignment);
    objective.loss.backward();
    for (const auto& [name, parameter] : model->named_parameters()) {
      if (name.rfind("inference.", 0) == 0 || name == "attention.score_weight") {
        double size = 0;
        for (const float g : parameter.grad().to_vector()) size += std::abs(g);
        EXPECT_GT(size, 0) << name << ", " << models::alignment_training_name(alignment);
      }
    }
    if (alignment != AlignmentTraining::kGumbel) {
      EXPECT_GT(objective.signal_variance, 0) << models::alignment_training_name(alignment);
    }
    // The next call draws new samples from the model's stream: another objective.
    const auto again = model->alignment_loss(batch.source, batch.target_in, batch.target_out);
    EXPECT_NE(again.loss.item(), objective.loss.item()) << models::alignment_training_name(alignment);
  }
}

// The sampled objectives are unbiased: the mean of n gradients of `loss` (each call draws new
// samples) equals the gradient of `estimated` (the same expectation by enumeration) within four
// standard errors, element by element of every parameter.
TEST(G2PLatent, SampledGradientsAverageToTheEnumeratedOnes) {
  const Batch batch = tiny_batch();
  for (const AlignmentTraining alignment : {AlignmentTraining::kHard, AlignmentTraining::kVariationalReinforce}) {
    auto model = latent_model<double>(alignment, 9);
    const auto gradients = [&] {
      std::vector<double> all;
      for (const auto& [name, parameter] : model->named_parameters()) {
        const std::vector<double> g =
            parameter.grad().defined() ? parameter.grad().to_vector() : std::vector<double>(parameter.numel(), 0.0);
        all.insert(all.end(), g.begin(), g.end());
      }
      return all;
    };
    model->zero_grad();
    model->alignment_loss(batch.source, batch.target_in, batch.target_out).estimated.backward();
    const std::vector<double> exact = gradients();
    const int n = 1500;
    std::vector<double> sum(exact.size(), 0.0), square(exact.size(), 0.0);
    for (int i = 0; i < n; ++i) {
      model->zero_grad();
      model->alignment_loss(batch.source, batch.target_in, batch.target_out).loss.backward();
      const std::vector<double> g = gradients();
      for (size_t e = 0; e < g.size(); ++e) {
        sum[e] += g[e];
        square[e] += g[e] * g[e];
      }
    }
    int64_t random_elements = 0;
    for (size_t e = 0; e < exact.size(); ++e) {
      const double mean = sum[e] / n, variance = std::max(square[e] / n - mean * mean, 0.0);
      random_elements += variance > 1e-20;
      ASSERT_NEAR(mean, exact[e], 4 * std::sqrt(variance / n) + 1e-9)
          << models::alignment_training_name(alignment) << ", element " << e;
    }
    EXPECT_GT(random_elements, 10) << models::alignment_training_name(alignment);  // the test can fail
  }
}

TEST(G2PLatent, AVariationalModelRoundTripsThroughTheFactory) {
  models::G2PModelSpec spec;
  spec.architecture = "gru";
  spec.recurrent = {.embedding_dim = 3,
                    .hidden_dim = 4,
                    .dropout = 0.0,
                    .max_length = 12,
                    .alignment = AlignmentTraining::kVariationalReinforce,
                    .gumbel_temperature = 0.5};
  Generator generator(2);
  auto model = models::make_g2p_model(spec, generator);
  const attend::testing::TempDir temp;
  const auto path = (temp / "variational.safetensors").string();
  io::save_module(path, *model, {}, models::g2p_metadata(spec), /*overwrite=*/true);
  const models::G2PModelSpec read = models::g2p_spec_from_metadata(io::load_safetensors(path).metadata(), path);
  EXPECT_EQ(read.recurrent.alignment, AlignmentTraining::kVariationalReinforce);
  EXPECT_EQ(read.recurrent.gumbel_temperature, 0.5);
  auto loaded = models::load_g2p_model(path);
  const Batch batch = tiny_batch();
  EXPECT_EQ(loaded->greedy_decode(batch.source, 6), model->greedy_decode(batch.source, 6));
  // Soft checkpoints written before the key existed read as soft.
  io::Metadata old = models::g2p_metadata(gru_spec());
  old.erase("alignment");
  EXPECT_EQ(models::g2p_spec_from_metadata(old, "old").recurrent.alignment, AlignmentTraining::kSoft);
}

TEST(G2PLatentMisuse, UnknownAlignmentsAndTemperaturesAreRefused) {
  expect_error<ValueError>([] { models::parse_alignment_training("sparsemax"); },
                           {"unknown attention 'sparsemax'", "variational-reinforce"});
  io::Metadata metadata = models::g2p_metadata(gru_spec());
  metadata["alignment"] = "latent";
  expect_error<ValueError>([&] { models::g2p_spec_from_metadata(metadata, "m.safetensors"); },
                           {"m.safetensors", "'alignment' = 'latent'"});
  Generator generator(1);
  expect_error<ValueError>(
      [&] {
        G2PRecurrent<float>(models::G2PRecurrentConfig{.gumbel_temperature = 0.0}, kLetters.size(), kPhonemes.size(),
                            generator);
      },
      {"Gumbel temperature must be finite and > 0, got 0"});
  auto soft = latent_model<float>(AlignmentTraining::kSoft);
  const Batch batch = tiny_batch();
  expect_error<ValueError>([&] { soft->posterior(batch.source, batch.target_out); }, {"has no inference network"});
}

}  // namespace
}  // namespace attend
