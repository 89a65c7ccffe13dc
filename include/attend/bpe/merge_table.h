// Byte-pair merges by rank, applied to one word the way Hugging Face `tokenizers`' BPE model does
// (Word::merge_all), so that ids agree even for merge lists that are not in learned order:
//
//   symbols = the word's byte tokens, linked left to right
//   queue   = every adjacent pair that has a merge, keyed (rank, position), lowest first
//   while the queue is not empty:
//     pop (rank, position); skip it if that symbol was absorbed, is the last one, or no longer
//       forms a pair merging into the same token (an entry made stale by an earlier merge)
//     merge the symbol at `position` with its right neighbour into the merged token
//     push the pairs the new symbol forms with its left and right neighbours, if they merge
//
// Rank is a merge's index in the list, lowest first; a pair listed twice keeps its later rank,
// as the map `tokenizers` builds from the list does.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace attend::bpe {

class MergeTable {
 public:
  // Appends the next merge: the pair (left, right) becomes `merged`, at the next rank.
  void add(int32_t left, int32_t right, int32_t merged);
  int64_t size() const { return next_rank_; }

  // Merges the ids of one word (its byte tokens, in order) in place, as described above.
  void merge_word(std::vector<int32_t>& ids) const;

 private:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  static uint64_t key(int32_t left, int32_t right);
  const Merge* find(int32_t left, int32_t right) const;

  std::unordered_map<uint64_t, Merge> merges_;
  int32_t next_rank_ = 0;
};

}  // namespace attend::bpe
