// How many tokens of each sequence stay when an encoding must fit in `budget` tokens (the
// maximum length less the special tokens), with the "longest_first" strategy of tokenizers
// (utils/truncation.rs), so that the same pair keeps the same tokens there and here:
//
//   one sequence of n:  keep min(n, budget)
//   a pair (n1, n2) whose total is above budget; "short" is the shorter one, the first when
//   n1 == n2:
//     if 2 short <= budget:  short keeps all of itself, the other keeps budget - short
//     otherwise:             short keeps budget / 2 (rounded down), the other the rest
#pragma once

#include <cstdint>

namespace attend::text {

struct KeptLengths {
  int64_t first = 0;
  int64_t second = 0;
};

// Throws ValueError on a negative length or budget.
KeptLengths longest_first(int64_t first, int64_t second, int64_t budget);

}  // namespace attend::text
