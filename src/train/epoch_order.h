// Seeded orders of a training set, shared by the recipes: batch `step` must be a pure function of
// (seed, step) so that a resumed run sees the same examples (train/trainer.h). And what the
// recipes that go through their data epoch by epoch share about gradient shards.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace attend::train {

// The seed of generator `index` of a stream (e.g. 0: the epochs' orders, 1: per-batch draws):
// SplitMix64's finalizer over the three, so that neighbouring indices and seeds give unrelated
// generators.
uint64_t stream_seed(uint64_t seed, uint64_t stream, uint64_t index);

// 0 .. count - 1 in the order of epoch `epoch`: a Fisher-Yates shuffle by the generator of
// stream 0, index epoch.
std::vector<int64_t> epoch_order(int64_t count, uint64_t seed, int64_t epoch);

// ValueError unless an epoch of `items` in batches of batch_size (the last one shorter) gives
// every one of `shards` shards an item; `task` and `what` ("images") name them in the message.
void check_last_batch_fills_shards(int64_t items, int64_t batch_size, int64_t shards, const std::string& task,
                                   const std::string& what);

// correct / seen summed over every rank of distributed::world(); 0 when nothing was seen.
double accuracy_over_ranks(int64_t correct, int64_t seen);

}  // namespace attend::train
