// The Trainer's data-parallel step (the rule is in data_parallel.h).
#include "data_parallel.h"
#include "train/epoch_order.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/core/random.h"

namespace attend::train {
namespace {

// The model's random streams for the shards of one step: one draw each at the start, a stream
// per shard from it, and back to where that draw left them at the end.
class ShardStreams {
 public:
  explicit ShardStreams(nn::Module<float>& model) {
    for (auto& [name, generator] : model.named_generators()) {
      bases_.push_back(generator->next_u64());
      after_.push_back(generator->state());
      generators_.push_back(generator);
    }
  }
  void enter(int64_t shard) {
    for (size_t i = 0; i < generators_.size(); ++i) {
      generators_[i]->set_state(Generator(stream_seed(bases_[i], 0, static_cast<uint64_t>(shard))).state());
    }
  }
  ~ShardStreams() {
    for (size_t i = 0; i < generators_.size(); ++i) generators_[i]->set_state(after_[i]);
  }

 private:
  std::vector<Generator*> generators_;
  std::vector<uint64_t> bases_;
  std::vector<Generator::State> after_;
};

}  // namespace

ShardedLoss sharded_backward(distributed::Communicator& communicator, nn::Module<float>& model,
                             Optimizer<float>& optimizer, int64_t shards, int64_t step,
                             const std::function<BatchLoss(int64_t, const Shard&)>& batch_loss,
                             ShardWorkspace& workspace) {
  const NamedTensors<float>& parameters = optimizer.parameters();
  std::vector<int64_t> offsets = {0};  // parameter i's elements at [offsets[i], offsets[i + 1])
  for (const auto& [name, parameter] : parameters) offsets.push_back(offsets.back() + parameter.numel());
  const int64_t total = offsets.back();
  const int64_t ranks = communicator.size(), local_shards = shards / ranks;
  // Every shard's gradients (S, total) and, per shard, (loss, items, reached...) where reached[i]
  // is 1 when the shard's backward gave parameter i a gradient. This rank fills its own shards'
  // rows; the gather brings the others'.
  const int64_t counters = 2 + static_cast<int64_t>(parameters.size());
  workspace.gradients.resize(static_cast<size_t>(shards * total));
  workspace.summaries.resize(static_cast<size_t>(shards * counters));
  float* gradients = workspace.gradients.data() + communicator.rank() * local_shards * total;
  double* summaries = workspace.summaries.data() + communicator.rank() * local_shards * counters;
  {
    ShardStreams streams(model);
    for (int64_t j = 0; j < local_shards; ++j) {
      const Shard shard{communicator.rank() * local_shards + j, shards};
      streams.enter(shard.index);
      optimizer.zero_grad();
      const BatchLoss batch = batch_loss(step, shard);
      ATTEND_CHECK(batch.loss.defined() && batch.loss.numel() == 1, ValueError,
                   "Trainer: batch_loss must return a scalar loss");
      batch.loss.backward();
      double* summary = summaries + j * counters;
      summary[0] = batch.loss.item();
      summary[1] = static_cast<double>(batch.items);
      for (size_t i = 0; i < parameters.size(); ++i) {
        const Tensor<float> grad = parameters[i].second.grad();
        float* out = gradients + j * total + offsets[i];
        summary[2 + i] = grad.defined() ? 1 : 0;
        if (grad.defined()) {
          std::memcpy(out, grad.contiguous().data(), sizeof(float) * static_cast<size_t>(grad.numel()));
        } else {
          std::fill_n(out, parameters[i].second.numel(), 0.0f);
        }
      }
    }
  }
  // All S shards, in shard order (rank r's come r-th).
  ShardedLoss result;
  const auto exchange_start = std::chrono::steady_clock::now();
  communicator.all_gather_in_place(workspace.gradients.data(), sizeof(float) * local_shards * total);
  communicator.all_gather_in_place(workspace.summaries.data(), sizeof(double) * local_shards * counters);
  const std::vector<float>& all = workspace.gradients;             // (S, total)
  const std::vector<double>& all_summaries = workspace.summaries;  // (S, counters)
  result.exchange_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - exchange_start).count();

  for (int64_t s = 0; s < shards; ++s) {
    result.loss += all_summaries[s * counters];
    result.items += static_cast<int64_t>(all_summaries[s * counters + 1]);
  }
  result.loss /= static_cast<double>(shards);
  optimizer.zero_grad();
  const float divisor = static_cast<float>(shards);
  for (size_t i = 0; i < parameters.size(); ++i) {
    bool reached = false;
    for (int64_t s = 0; s < shards; ++s) reached = reached || all_summaries[s * counters + 2 + i] != 0;
    if (!reached) continue;
    // g = (g_0 + ... + g_{S-1}) / S, left to right: elementwise, so the same for any thread count.
    const Tensor<float>& parameter = parameters[i].second;
    Tensor<float> sum = Tensor<float>::empty(parameter.shape());
    float* out = sum.data();
    const float* base = all.data() + offsets[i];
    parallel_for(parameter.numel(), 4096, [&](int64_t begin, int64_t end) {
      for (int64_t e = begin; e < end; ++e) {
        float acc = base[e];
        for (int64_t s = 1; s < shards; ++s) acc += base[s * total + e];
        out[e] = acc / divisor;
      }
    });
    parameter.impl()->grad = sum;
  }
  return result;
}

void synchronize_start(distributed::Communicator& communicator, const Optimizer<float>& optimizer,
                       const std::string& description, int64_t first_step) {
  std::string identity = description + "\nfirst step " + std::to_string(first_step);
  for (const auto& [name, parameter] : optimizer.parameters()) {
    identity += "\n" + name + " " + shape_string(parameter.shape());
  }
  const std::vector<uint64_t> fingerprints =
      communicator.all_gather(std::vector<uint64_t>{distributed::fingerprint(identity)});
  for (int r = 1; r < communicator.size(); ++r) {
    ATTEND_CHECK(fingerprints[r] == fingerprints[0], ValueError,
                 "rank {} disagrees with rank 0 about the model, the data or the options (fingerprint {:016x} vs "
                 "{:016x}); start every rank with the same command on the same files",
                 r, fingerprints[r], fingerprints[0]);
  }
  for (const auto& [name, parameter] : optimizer.parameters()) {
    Tensor<float> p = parameter;
    communicator.broadcast_bytes(p.data(), sizeof(float) * static_cast<size_t>(p.numel()), 0);
  }
}

}  // namespace attend::train
