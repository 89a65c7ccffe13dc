#include "attend/sampling/candidate_filters.h"

#include <algorithm>
#include <cmath>

namespace attend::sampling {
namespace {

// The first block of keep_top_p's sorted prefix; each next block makes the prefix 4 times as
// long: few selection passes over the rest (each O(n)), and a flat distribution costs
// O(n log n) at worst, as a full sort would.
constexpr size_t kFirstTopPBlock = 128;

// Sorts the next block after candidates[0, begin) (already the best, sorted); returns its end.
size_t sort_next_block(std::vector<Candidate>& candidates, size_t begin) {
  const size_t end = std::min(candidates.size(), begin + std::max(kFirstTopPBlock, 3 * begin));
  const auto first = candidates.begin() + static_cast<std::ptrdiff_t>(begin);
  const auto last = candidates.begin() + static_cast<std::ptrdiff_t>(end);
  std::nth_element(first, last, candidates.end(), ranks_before);
  std::sort(first, last, ranks_before);
  return end;
}

}  // namespace

double max_score(const std::vector<Candidate>& candidates) {
  double max = candidates.front().score;
  for (const Candidate& candidate : candidates) max = std::max(max, candidate.score);
  return max;
}

double total_weight(const std::vector<Candidate>& candidates, double max) {
  double total = 0;
  for (const Candidate& candidate : candidates) total += std::exp(candidate.score - max);
  return total;
}

void keep_top_k(std::vector<Candidate>& candidates, int64_t k) {
  if (k <= 0 || static_cast<size_t>(k) >= candidates.size()) {
    std::sort(candidates.begin(), candidates.end(), ranks_before);
    return;
  }
  const auto kth = candidates.begin() + static_cast<std::ptrdiff_t>(k);
  std::nth_element(candidates.begin(), kth, candidates.end(), ranks_before);
  candidates.erase(kth, candidates.end());
  std::sort(candidates.begin(), candidates.end(), ranks_before);
}

// p_i = exp(s_i - s_max) / total; the prefix grows until its cumulative p reaches top_p.
void keep_top_p(std::vector<Candidate>& candidates, double top_p, bool sorted_by_rank) {
  if (candidates.empty()) return;
  const double max = max_score(candidates);
  const double total = total_weight(candidates, max);
  size_t sorted_end = sorted_by_rank ? candidates.size() : 0;
  double cumulative = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (i == sorted_end) sorted_end = sort_next_block(candidates, i);
    cumulative += std::exp(candidates[i].score - max);
    if (cumulative / total >= top_p) {
      candidates.resize(i + 1);
      return;
    }
  }
  // Rounding left the sum of all of them just short of top_p: all are kept (and now sorted).
}

// exp(s_i - s_max) >= min_p  <=>  s_i >= s_max + log(min_p): no exponential per candidate.
void keep_min_p(std::vector<Candidate>& candidates, double min_p) {
  if (candidates.empty()) return;
  const double threshold = max_score(candidates) + std::log(min_p);
  std::erase_if(candidates, [&](const Candidate& candidate) { return candidate.score < threshold; });
}

}  // namespace attend::sampling
