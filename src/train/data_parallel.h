// The Trainer's data-parallel step (docs/distributed.md), internal to train/.
//
// A step's global batch is cut into S shards (TrainerOptions::shards); rank r of R computes the
// gradients of shards r S/R .. (r + 1) S/R - 1, one shard at a time. The parameters are split
// among the ranks (ParameterPartition: rank q owns a contiguous run of whole parameters, about
// 1/R of the elements); each rank receives every shard's gradient of the parameters it owns (an
// all-to-all) and sums them in shard order,
//
//   g = (g_0 + g_1 + ... + g_{S-1}) / S       (left to right)
//
// clips by the global norm (the chunk sums of clip_grad_norm, gathered from their owners and
// added in parameter order), applies the optimizer to its parameters only, and the ranks then
// gather the updated parameters. Every operation on an element is the same whoever does it, so
// the update is bitwise the same for any R that divides S (1 process with S shards included),
// whatever the thread count. The optimizer's buffers (e.g. Adam's moments) of a parameter stay
// current on its owner only, until gather_optimizer_state() brings them to every rank (before a
// checkpoint). The loss is the mean of the shards' losses (each a mean over its own items), as
// data-parallel training in PyTorch averages its ranks' losses.
//
// Dropout and other random streams of the model: with S > 1, shard s draws from streams
// re-seeded from (one draw of the stream at the step's start, s), and after the step every
// stream stands where that one draw left it, on every rank.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <functional>
#include <string>
#include <vector>

#include "attend/distributed/communicator.h"
#include "attend/nn/module.h"
#include "attend/train/optimizer.h"
#include "attend/train/trainer.h"

namespace attend::train {

// Seconds on the steady clock since `start` (the Trainer's clocks and the step's).
double seconds_since(std::chrono::steady_clock::time_point start);

struct ShardedLoss {
  double loss = 0;              // mean of the shards' losses
  int64_t items = 0;            // over all shards
  double wait_seconds = 0;      // waiting for the slowest rank to finish its shards
  double exchange_seconds = 0;  // in the step's exchanges of gradients and parameters
};

// Which rank updates which parameters: rank q owns parameters [bounds[q], bounds[q + 1]), whose
// elements lie at [offsets[bounds[q]], offsets[bounds[q + 1]]) of the parameters laid end to end.
// A parameter goes to the rank whose 1/R share of the elements holds its middle element.
struct ParameterPartition {
  ParameterPartition(const NamedTensors<float>& parameters, int ranks);
  std::vector<int64_t> offsets;  // (P + 1): parameter i's elements at [offsets[i], offsets[i + 1])
  std::vector<size_t> bounds;    // (R + 1) parameter indices
  int64_t first_element(int rank) const { return offsets[bounds[rank]]; }
  int64_t elements(int rank) const { return offsets[bounds[rank + 1]] - offsets[bounds[rank]]; }
  int owner(size_t parameter) const;
};

// Buffers kept from step to step.
struct ShardWorkspace {
  std::optional<ParameterPartition> partition;  // made at the first step
  std::vector<float> sent;        // this rank's shards' gradients, by owner: (R, local shards, owner's elements)
  std::vector<float> received;    // every shard's gradients of this rank's parameters: (S, own elements)
  std::vector<double> summaries;  // per shard (loss, items, reached...): (S, 2 + P)
  std::vector<float> values;      // every parameter's elements laid end to end: (total)
};

// One training step's gradients and update: runs batch_loss and backward for this rank's shards
// of `step`, exchanges, sums, clips to clip_norm (when > 0) and steps the optimizer as above;
// after it every rank holds the same updated parameters. Collective: every rank calls it for
// every step.
ShardedLoss sharded_step(distributed::Communicator& communicator, nn::Module<float>& model, Optimizer<float>& optimizer,
                         int64_t shards, int64_t step,
                         const std::function<BatchLoss(int64_t, const Shard&)>& batch_loss, double clip_norm,
                         ShardWorkspace& workspace);

// Brings every parameter's optimizer buffers from its owner to every rank (before a checkpoint or
// the end of training). Collective.
void gather_optimizer_state(distributed::Communicator& communicator, Optimizer<float>& optimizer,
                            ShardWorkspace& workspace);

// Before the first step: rank 0's parameters replace the others', then every rank's
// fingerprint of (description, parameter names and shapes, first_step) is compared; ValueError
// naming the first rank that differs. Collective.
void synchronize_start(distributed::Communicator& communicator, const Optimizer<float>& optimizer,
                       const std::string& description, int64_t first_step);

}  // namespace attend::train
