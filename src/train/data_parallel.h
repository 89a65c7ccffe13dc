// The Trainer's data-parallel step (docs/distributed.md), internal to train/.
//
// A step's global batch is cut into S shards (TrainerOptions::shards); rank r of R computes the
// gradients of shards r S/R .. (r + 1) S/R - 1, one shard at a time, and every rank then gathers
// all S shard gradients and sums them in shard order:
//
//   g = (g_0 + g_1 + ... + g_{S-1}) / S       (left to right, on every rank)
//
// so the update is bitwise the same for any R that divides S (1 process with S shards
// included), whatever the thread count. The loss is the mean of the shards' losses (each a mean
// over its own items), as data-parallel training in PyTorch averages its ranks' losses.
//
// Dropout and other random streams of the model: with S > 1, shard s draws from streams
// re-seeded from (one draw of the stream at the step's start, s), and after the step every
// stream stands where that one draw left it, on every rank.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "attend/distributed/communicator.h"
#include "attend/nn/module.h"
#include "attend/train/optimizer.h"
#include "attend/train/trainer.h"

namespace attend::train {

struct ShardedLoss {
  double loss = 0;              // mean of the shards' losses
  int64_t items = 0;            // over all shards
  double exchange_seconds = 0;  // in the gather of the shards' gradients (waiting for the others included)
};

// Buffers kept from step to step: every shard's gradients (S, P) and summaries.
struct ShardWorkspace {
  std::vector<float> gradients;
  std::vector<double> summaries;
};

// Runs batch_loss and backward for this rank's shards of `step` and leaves the summed, divided
// gradient of all S shards in every parameter's .grad (undefined for a parameter no shard
// reached). Collective: every rank calls it for every step.
ShardedLoss sharded_backward(distributed::Communicator& communicator, nn::Module<float>& model,
                             Optimizer<float>& optimizer, int64_t shards, int64_t step,
                             const std::function<BatchLoss(int64_t, const Shard&)>& batch_loss,
                             ShardWorkspace& workspace);

// Before the first step: rank 0's parameters replace the others', then every rank's
// fingerprint of (description, parameter names and shapes, first_step) is compared; ValueError
// naming the first rank that differs. Collective.
void synchronize_start(distributed::Communicator& communicator, const Optimizer<float>& optimizer,
                       const std::string& description, int64_t first_step);

}  // namespace attend::train
