// Seeded orders of a training set, shared by the recipes: batch `step` must be a pure function of
// (seed, step) so that a resumed run sees the same examples (train/trainer.h).
#pragma once

#include <cstdint>
#include <vector>

namespace attend::train {

// The seed of generator `index` of a stream (e.g. 0: the epochs' orders, 1: per-batch draws):
// SplitMix64's finalizer over the three, so that neighbouring indices and seeds give unrelated
// generators.
uint64_t stream_seed(uint64_t seed, uint64_t stream, uint64_t index);

// 0 .. count - 1 in the order of epoch `epoch`: a Fisher-Yates shuffle by the generator of
// stream 0, index epoch.
std::vector<int64_t> epoch_order(int64_t count, uint64_t seed, int64_t epoch);

}  // namespace attend::train
