// The draws of a sampler: a function of (seed, step) only, independent from step to step, the
// same whatever else runs beside it.
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "attend/core/random.h"
#include "attend/sampling/sampler.h"
#include "chi_square.h"

namespace attend::sampling {
namespace {

std::vector<float> random_logits(size_t vocabulary, uint64_t seed, double scale) {
  Generator generator(seed);
  std::vector<float> logits(vocabulary);
  for (float& l : logits) l = static_cast<float>(scale * generator.normal());
  return logits;
}

std::vector<int32_t> generate(Sampler& sampler, const std::vector<float>& logits, int steps) {
  std::vector<int32_t> tokens;
  for (int step = 0; step < steps; ++step) tokens.push_back(sampler.next(logits, tokens));
  return tokens;
}

SamplingOptions seeded(uint64_t seed) {
  SamplingOptions options;
  options.seed = seed;
  options.top_p = 0.95f;
  options.repeat_penalty = 1.1f;
  return options;
}

TEST(SamplerDeterminism, SameSeedAndStepSameToken) {
  const std::vector<float> logits = random_logits(1000, 1, 0.5);
  for (uint64_t step : {0u, 1u, 17u, 123456u}) {
    EXPECT_EQ(sample_token(logits, {}, seeded(7), step).id, sample_token(logits, {}, seeded(7), step).id);
  }
  Sampler first(seeded(7)), second(seeded(7)), other_seed(seeded(8));
  const std::vector<int32_t> tokens = generate(first, logits, 200);
  EXPECT_EQ(generate(second, logits, 200), tokens);
  const std::vector<int32_t> other = generate(other_seed, logits, 200);
  int differ = 0;
  for (size_t i = 0; i < tokens.size(); ++i) differ += tokens[i] != other[i];
  EXPECT_GT(differ, 150) << "another seed, another sequence";
  // Replaying from step 50 with the history so far gives the rest again.
  Sampler replay(seeded(7));
  replay.set_step(50);
  std::vector<int32_t> history(tokens.begin(), tokens.begin() + 50);
  for (size_t i = 50; i < 60; ++i) {
    history.push_back(replay.next(logits, history));
    EXPECT_EQ(history.back(), tokens[i]) << "step " << i;
  }
}

// Two equally likely tokens: the pairs (x_t, x_t+1) and (x_t, x_t+2) are uniform over the four
// combinations if the steps are independent.
TEST(SamplerDeterminism, DifferentStepsAreIndependent) {
  Sampler sampler(SamplingOptions{});
  const std::vector<float> logits = {0, 0};
  std::vector<int32_t> tokens;
  for (int step = 0; step < 20000; ++step) tokens.push_back(sampler.next(logits, {}));
  for (const size_t lag : {1u, 2u}) {
    std::vector<int64_t> pairs(4, 0);
    for (size_t t = 0; t + lag < tokens.size(); ++t) ++pairs[static_cast<size_t>(2 * tokens[t] + tokens[t + lag])];
    EXPECT_LT(chi_square(pairs, {0.25, 0.25, 0.25, 0.25}), chi_square_bound(3)) << "lag " << lag;
  }
}

// Four sequences, each with its own sampler: drawn alone one after the other, or interleaved on
// four threads, each gets the same tokens.
TEST(SamplerDeterminism, ThreadsAndBatchNeighboursChangeNothing) {
  const int sequences = 4, steps = 100;
  std::vector<std::vector<float>> logits;
  std::vector<std::vector<int32_t>> alone(sequences), threaded(sequences);
  for (int s = 0; s < sequences; ++s) logits.push_back(random_logits(500, 10 + s, 1.0));
  for (int s = 0; s < sequences; ++s) {
    Sampler sampler(seeded(static_cast<uint64_t>(s)));
    alone[s] = generate(sampler, logits[s], steps);
  }
  std::vector<std::thread> threads;
  for (int s = 0; s < sequences; ++s) {
    threads.emplace_back([&, s] {
      Sampler sampler(seeded(static_cast<uint64_t>(s)));
      threaded[s] = generate(sampler, logits[s], steps);
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(threaded, alone);
  // A batch stepped in lockstep: sequence 0 beside three others.
  std::vector<Sampler> batch;
  std::vector<std::vector<int32_t>> batched(sequences);
  for (int s = 0; s < sequences; ++s) batch.emplace_back(seeded(static_cast<uint64_t>(s)));
  for (int step = 0; step < steps; ++step) {
    for (int s = 0; s < sequences; ++s) batched[s].push_back(batch[s].next(logits[s], batched[s]));
  }
  EXPECT_EQ(batched, alone);
}

// SmolLM2's vocabulary of 49,152 with every filter combination: runs, stays in range and draws
// only from the kept set. Not a timing.
TEST(SamplerDeterminism, LargeVocabularyRuns) {
  const std::vector<float> logits = random_logits(49152, 3, 3.0);
  std::vector<SamplingOptions> settings(5, seeded(1));
  settings[0].top_p = 1;
  settings[1].top_k = 40;
  settings[1].top_p = 1;
  settings[2].top_p = 0.9f;
  settings[3].min_p = 0.05f;
  settings[3].top_p = 1;
  settings[4].top_k = 40;
  settings[4].min_p = 0.05f;
  for (const SamplingOptions& options : settings) {
    const std::vector<TokenProbability> kept = final_distribution(logits, {}, options);
    std::vector<bool> allowed(logits.size(), false);
    for (const TokenProbability& token : kept) allowed[static_cast<size_t>(token.id)] = true;
    Sampler sampler(options);
    for (int step = 0; step < 100; ++step) {
      const int32_t id = sampler.next(logits, {});
      ASSERT_TRUE(id >= 0 && static_cast<size_t>(id) < logits.size());
      ASSERT_TRUE(allowed[static_cast<size_t>(id)]) << "token " << id << " was filtered out";
    }
  }
  EXPECT_EQ(final_distribution(logits, {}, settings[1]).size(), 40u);
}

}  // namespace
}  // namespace attend::sampling
