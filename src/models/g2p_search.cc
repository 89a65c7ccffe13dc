#include "attend/models/g2p_search.h"

#include <algorithm>

#include "attend/core/error.h"
#include "attend/models/g2p_model.h"

namespace attend::models {

void check_single_word(const IndexTensor& source) {
  ATTEND_CHECK(source.rank() == 2 && source.size(0) == 1, ShapeError, "beam_search: source must be (1, S), got {}",
               shape_string(source.shape()));
}

template <typename T>
std::vector<std::vector<int64_t>> greedy_search(int64_t batch, int64_t max_steps, const NextScores<T>& next_scores) {
  std::vector<std::vector<int64_t>> outputs(batch);
  std::vector<bool> done(batch, false);
  IndexTensor tokens = IndexTensor::full({batch, 1}, Vocabulary::kStart);  // (B, 1)
  for (int64_t step = 0; step < max_steps; ++step) {
    const Tensor<T> scores = next_scores(tokens, step).contiguous();  // (B, V)
    ATTEND_CHECK(scores.rank() == 2 && scores.size(0) == batch, ShapeError,
                 "greedy_search: the model returned scores {} for {} rows; expected (B, V)",
                 shape_string(scores.shape()), batch);
    const int64_t vocab = scores.size(1);
    bool all_done = true;
    for (int64_t b = 0; b < batch; ++b) {
      const T* row = scores.data() + b * vocab;
      const int64_t best = std::max_element(row, row + vocab) - row;
      tokens.data()[b] = best;  // finished rows keep decoding; their outputs are ignored
      if (!done[b]) {
        if (best == Vocabulary::kEnd) {
          done[b] = true;
        } else {
          outputs[b].push_back(best);
        }
      }
      all_done = all_done && done[b];
    }
    if (all_done) break;
  }
  return outputs;
}

template <typename T>
std::vector<int64_t> beam_search(int64_t beam_size, int64_t max_steps, const NextScores<T>& next_log_probs,
                                 const FollowBeams& follow_beams) {
  ATTEND_CHECK(beam_size >= 1, ValueError, "beam_search: beam size must be >= 1, got {}", beam_size);
  struct Beam {
    std::vector<int64_t> tokens;
    double log_prob = 0;
  };
  std::vector<Beam> beams = {Beam{}}, finished;
  for (int64_t step = 0; step < max_steps && !beams.empty(); ++step) {
    const int64_t live = static_cast<int64_t>(beams.size());
    IndexTensor tokens = IndexTensor::empty({live, 1});
    for (int64_t i = 0; i < live; ++i)
      tokens.data()[i] = beams[i].tokens.empty() ? Vocabulary::kStart : beams[i].tokens.back();
    const Tensor<T> log_probs = next_log_probs(tokens, step).contiguous();  // (live, V)
    ATTEND_CHECK(log_probs.rank() == 2 && log_probs.size(0) == live, ShapeError,
                 "beam_search: the model returned log-probabilities {} for {} beams; expected (L, V)",
                 shape_string(log_probs.shape()), live);
    const int64_t vocab = log_probs.size(1);
    struct Candidate {
      double score;
      int64_t beam, token;
    };
    std::vector<Candidate> candidates;
    for (int64_t i = 0; i < live; ++i) {
      for (int64_t v = Vocabulary::kEnd; v < vocab; ++v) {
        if (v == Vocabulary::kUnknown) continue;
        candidates.push_back({beams[i].log_prob + static_cast<double>(log_probs.data()[i * vocab + v]), i, v});
      }
    }
    const size_t keep = std::min<size_t>(candidates.size(), static_cast<size_t>(beam_size));
    std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(),
                      [](const Candidate& a, const Candidate& b) {
                        return a.score > b.score || (a.score == b.score && a.token < b.token);
                      });
    std::vector<Beam> next;
    std::vector<int64_t> parents;
    for (size_t c = 0; c < keep; ++c) {
      Beam beam{beams[candidates[c].beam].tokens, candidates[c].score};
      if (candidates[c].token == Vocabulary::kEnd) {
        finished.push_back(beam);
      } else {
        beam.tokens.push_back(candidates[c].token);
        next.push_back(beam);
        parents.push_back(candidates[c].beam);
      }
    }
    if (static_cast<int64_t>(finished.size()) >= beam_size) break;
    if (!next.empty()) follow_beams(IndexTensor::from_vector({static_cast<int64_t>(parents.size())}, parents));
    beams = std::move(next);
  }
  for (auto& beam : beams) finished.push_back(beam);  // unfinished at the step limit
  const auto best = std::max_element(finished.begin(), finished.end(), [](const Beam& a, const Beam& b) {
    return a.log_prob / (a.tokens.size() + 1) < b.log_prob / (b.tokens.size() + 1);
  });
  return best == finished.end() ? std::vector<int64_t>{} : best->tokens;
}

#define ATTEND_INSTANTIATE_SEARCH(T)                                                                \
  template std::vector<std::vector<int64_t>> greedy_search(int64_t, int64_t, const NextScores<T>&); \
  template std::vector<int64_t> beam_search(int64_t, int64_t, const NextScores<T>&, const FollowBeams&);
ATTEND_INSTANTIATE_SEARCH(float)
ATTEND_INSTANTIATE_SEARCH(double)
#undef ATTEND_INSTANTIATE_SEARCH

}  // namespace attend::models
