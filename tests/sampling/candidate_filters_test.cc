#include "attend/sampling/candidate_filters.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "attend/core/random.h"

namespace attend::sampling {
namespace {

std::vector<Candidate> from_scores(const std::vector<double>& scores) {
  std::vector<Candidate> candidates;
  for (size_t id = 0; id < scores.size(); ++id) candidates.push_back({static_cast<int32_t>(id), scores[id]});
  return candidates;
}

std::vector<int32_t> ids_of(const std::vector<Candidate>& candidates) {
  std::vector<int32_t> ids;
  for (const Candidate& candidate : candidates) ids.push_back(candidate.id);
  return ids;
}

// top-p by the definition: sort everything by rank, take the shortest prefix reaching top_p.
std::vector<int32_t> reference_top_p(std::vector<Candidate> candidates, double top_p) {
  std::sort(candidates.begin(), candidates.end(), ranks_before);
  const double max = candidates.front().score;
  double total = 0;
  for (const Candidate& candidate : candidates) total += std::exp(candidate.score - max);
  double cumulative = 0;
  size_t kept = 0;
  while (kept < candidates.size() && cumulative / total < top_p) cumulative += std::exp(candidates[kept++].score - max);
  candidates.resize(std::max<size_t>(kept, 1));
  return ids_of(candidates);
}

TEST(SamplingFilters, TopKBreaksTiesByLowestId) {
  std::vector<Candidate> candidates = from_scores({1, 3, 3, 2, 3, -4});
  keep_top_k(candidates, 2);
  EXPECT_EQ(ids_of(candidates), (std::vector<int32_t>{1, 2}));
  candidates = from_scores({1, 3, 3, 2, 3, -4});
  keep_top_k(candidates, 4);
  EXPECT_EQ(ids_of(candidates), (std::vector<int32_t>{1, 2, 4, 3}));
}

TEST(SamplingFilters, TopPKeepsTheShortestPrefixReachingP) {
  // p = 0.1, 0.5, 0.15, 0.25: by rank 1 (0.5), 3 (0.75), 2 (0.9), 0 (1).
  const std::vector<double> scores = {std::log(0.1), std::log(0.5), std::log(0.15), std::log(0.25)};
  const auto kept_for = [&](double top_p) {
    std::vector<Candidate> candidates = from_scores(scores);
    keep_top_p(candidates, top_p, false);
    return ids_of(candidates);
  };
  EXPECT_EQ(kept_for(0.4), (std::vector<int32_t>{1}));
  EXPECT_EQ(kept_for(0.7), (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(kept_for(0.8), (std::vector<int32_t>{1, 3, 2}));
  EXPECT_EQ(kept_for(0.95), (std::vector<int32_t>{1, 3, 2, 0}));
  EXPECT_EQ(kept_for(1e-9), (std::vector<int32_t>{1})) << "at least one token";
}

// The blockwise selection over many candidates, flat and peaked, with ties, sorted or not,
// against the full sort.
TEST(SamplingFilters, TopPMatchesAFullSortOnLargeInputs) {
  Generator generator(11);
  for (const double spread : {0.01, 1.0, 6.0}) {
    for (const double top_p : {0.3, 0.9, 0.999}) {
      std::vector<double> scores(5000);
      // Rounded to a grid of 1/8, so that many scores tie and the id must break them.
      for (double& s : scores) s = std::round(8 * spread * generator.normal()) / 8;
      const std::vector<int32_t> expected = reference_top_p(from_scores(scores), top_p);
      std::vector<Candidate> unsorted = from_scores(scores);
      keep_top_p(unsorted, top_p, false);
      EXPECT_EQ(ids_of(unsorted), expected) << "spread " << spread << ", top_p " << top_p;
      std::vector<Candidate> sorted = from_scores(scores);
      std::sort(sorted.begin(), sorted.end(), ranks_before);
      keep_top_p(sorted, top_p, true);
      EXPECT_EQ(ids_of(sorted), expected) << "sorted input, spread " << spread << ", top_p " << top_p;
    }
  }
}

TEST(SamplingFilters, MinPKeepsTokensWithinTheRatioOfTheMax) {
  // p = 0.5, 0.25, 0.15, 0.1 and min_p = 0.25: the threshold is 0.125.
  std::vector<Candidate> candidates = from_scores({std::log(0.15), std::log(0.5), std::log(0.1), std::log(0.25)});
  keep_min_p(candidates, 0.25);
  EXPECT_EQ(ids_of(candidates), (std::vector<int32_t>{0, 1, 3}));
  candidates = from_scores({2.0, 2.0, 1.0});
  keep_min_p(candidates, 1.0);
  EXPECT_EQ(ids_of(candidates), (std::vector<int32_t>{0, 1})) << "min_p = 1 keeps the ties of the max";
}

}  // namespace
}  // namespace attend::sampling
