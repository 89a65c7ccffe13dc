// The truncation filters of sampling, on candidates whose probability is softmax of their scores
// over the candidates still in the set (a filter renormalizes what the next one sees):
//
//   top-k:  keep the k highest-ranked candidates
//   top-p:  keep the shortest rank prefix c_1..c_m with p_1 + ... + p_m >= top_p (m >= 1)
//           (Holtzman et al. 2020, "The curious case of neural text degeneration")
//   min-p:  keep the candidates with p_i >= min_p * p_max, i.e. s_i - s_max >= log(min_p)
//           (Nguyen et al. 2024, "Turning up the heat: min-p sampling")
//
// Rank: a higher score first, the lower id on equal scores. Ties are thus cut by id, where
// Hugging Face's top-k would keep every token tied with the k-th: the kept set never depends on
// how a sort happens to order equal keys.
#pragma once

#include <cstdint>
#include <vector>

namespace attend::sampling {

struct Candidate {
  int32_t id = 0;
  // A finite logit after penalties and temperature.
  double score = 0;
};

// Whether a ranks before b: the higher score, or the lower id on equal scores.
inline bool ranks_before(const Candidate& a, const Candidate& b) {
  return a.score > b.score || (a.score == b.score && a.id < b.id);
}

// max_i s_i over candidates (at least one).
double max_score(const std::vector<Candidate>& candidates);

// sum_i exp(s_i - max), in the candidates' order: the same order for the same input (ids, or
// rank once a filter sorted them), so the same rounding on every run.
double total_weight(const std::vector<Candidate>& candidates, double max);

// Keeps the k best-ranked (k >= 1), sorted by rank: O(n + k log k) by selection, not a full sort.
void keep_top_k(std::vector<Candidate>& candidates, int64_t k);

// Keeps the shortest rank prefix of probability >= top_p, sorted by rank. Only that prefix is
// sorted: it grows by selection in blocks, so a peaked distribution over 49,152 tokens sorts a
// few hundred. Candidates already sorted by rank (after keep_top_k) are not selected again.
void keep_top_p(std::vector<Candidate>& candidates, double top_p, bool sorted_by_rank);

// Keeps the candidates with exp(s_i - s_max) >= min_p, in their order (compared as
// s_i >= s_max + log(min_p)).
void keep_min_p(std::vector<Candidate>& candidates, double min_p);

}  // namespace attend::sampling
