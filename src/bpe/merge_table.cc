// Byte-pair merges by rank (bpe/merge_table.h).
#include "attend/bpe/merge_table.h"

#include <functional>
#include <queue>

namespace attend::bpe {
namespace {

struct Symbol {
  int32_t id;
  int32_t previous;  // index of the symbol to the left, -1 for none
  int32_t next;      // index of the symbol to the right, -1 for none
  bool absorbed;     // merged into the symbol to its left
};

struct Candidate {
  int32_t rank;
  int32_t position;  // index of the pair's left symbol
  int32_t merged;
  bool operator>(const Candidate& other) const {
    return rank != other.rank ? rank > other.rank : position > other.position;
  }
};

using CandidateQueue = std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>>;

std::vector<Symbol> link_symbols(const std::vector<int32_t>& ids) {
  std::vector<Symbol> symbols(ids.size());
  const auto count = static_cast<int32_t>(ids.size());
  for (int32_t i = 0; i < count; ++i) symbols[i] = {ids[i], i - 1, i + 1 < count ? i + 1 : -1, false};
  return symbols;
}

}  // namespace

uint64_t MergeTable::key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

void MergeTable::add(int32_t left, int32_t right, int32_t merged) {
  merges_[key(left, right)] = Merge{next_rank_++, merged};
}

const MergeTable::Merge* MergeTable::find(int32_t left, int32_t right) const {
  const auto found = merges_.find(key(left, right));
  return found == merges_.end() ? nullptr : &found->second;
}

void MergeTable::merge_word(std::vector<int32_t>& ids) const {
  if (ids.size() < 2) return;
  std::vector<Symbol> symbols = link_symbols(ids);
  CandidateQueue queue;
  const auto push_pair = [&](int32_t position) {
    if (position < 0 || symbols[position].next < 0) return;
    if (const Merge* merge = find(symbols[position].id, symbols[symbols[position].next].id)) {
      queue.push({merge->rank, position, merge->merged});
    }
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) push_pair(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.position];
    if (left.absorbed || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    const Merge* current = find(left.id, right.id);
    if (current == nullptr || current->merged != top.merged) continue;  // stale
    left.id = top.merged;
    right.absorbed = true;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].previous = top.position;
    push_pair(left.previous);
    push_pair(top.position);
  }
  ids.clear();
  for (const Symbol& symbol : symbols) {
    if (!symbol.absorbed) ids.push_back(symbol.id);
  }
}

}  // namespace attend::bpe
