// The Trainer's data-parallel step (the rule is in data_parallel.h).
#include "data_parallel.h"
#include "train/epoch_order.h"

#include <algorithm>
#include <chrono>
#include <cmath>
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

// Per shard: (loss, items, reached[0], ..., reached[P - 1]) with reached[i] = 1 when the shard's
// backward gave parameter i a gradient.
constexpr int64_t kSummaryHead = 2;

// Runs this rank's shards: backward, then each parameter's gradient copied to its owner's block
// of workspace.sent, (R, local shards, owner's elements), zeros where a shard reached no gradient.
void backward_local_shards(const distributed::Communicator& communicator, nn::Module<float>& model,
                           Optimizer<float>& optimizer, int64_t shards, int64_t step,
                           const std::function<BatchLoss(int64_t, const Shard&)>& batch_loss,
                           const ParameterPartition& partition, ShardWorkspace& workspace) {
  const NamedTensors<float>& parameters = optimizer.parameters();
  const int64_t local_shards = shards / communicator.size(), total = partition.offsets.back();
  const int64_t counters = kSummaryHead + static_cast<int64_t>(parameters.size());
  workspace.sent.resize(static_cast<size_t>(local_shards * total));
  workspace.summaries.resize(static_cast<size_t>(shards * counters));
  double* summaries = workspace.summaries.data() + communicator.rank() * local_shards * counters;
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
      const int owner = partition.owner(i);
      const int64_t width = partition.elements(owner);
      float* out = workspace.sent.data() + local_shards * partition.first_element(owner) + j * width +
                   (partition.offsets[i] - partition.first_element(owner));
      const Tensor<float> grad = parameters[i].second.grad();
      summary[kSummaryHead + i] = grad.defined() ? 1 : 0;
      if (grad.defined()) {
        std::memcpy(out, grad.contiguous().data(), sizeof(float) * static_cast<size_t>(grad.numel()));
      } else {
        std::fill_n(out, parameters[i].second.numel(), 0.0f);
      }
    }
  }
}

// Every shard's summary to every rank, and every shard's gradients of this rank's parameters:
// returns them, (S, own elements) in shard order.
const std::vector<float>& exchange_gradients(distributed::Communicator& communicator, int64_t shards,
                                             const ParameterPartition& partition, ShardWorkspace& workspace) {
  const int ranks = communicator.size(), me = communicator.rank();
  const int64_t local_shards = shards / ranks;
  std::vector<size_t> send_bytes, receive_bytes;
  for (int q = 0; q < ranks; ++q) {
    send_bytes.push_back(sizeof(float) * static_cast<size_t>(local_shards * partition.elements(q)));
    receive_bytes.push_back(sizeof(float) * static_cast<size_t>(local_shards * partition.elements(me)));
  }
  communicator.all_gather_in_place(workspace.summaries.data(),
                                   workspace.summaries.size() / static_cast<size_t>(ranks) * sizeof(double));
  if (ranks == 1) return workspace.sent;  // already (S, all elements)
  workspace.received.resize(static_cast<size_t>(shards * partition.elements(me)));
  communicator.all_to_all_bytes(workspace.sent.data(), send_bytes, workspace.received.data(), receive_bytes);
  return workspace.received;
}

// Whether any shard reached each parameter.
std::vector<bool> reached_parameters(const std::vector<double>& summaries, int64_t shards, size_t parameter_count) {
  const size_t counters = kSummaryHead + parameter_count;
  std::vector<bool> reached(parameter_count, false);
  for (int64_t s = 0; s < shards; ++s) {
    for (size_t i = 0; i < parameter_count; ++i) {
      if (summaries[static_cast<size_t>(s) * counters + kSummaryHead + i] != 0) reached[i] = true;
    }
  }
  return reached;
}

// Each of this rank's reached parameters gets .grad = (g_0 + ... + g_{S-1}) / S, left to right:
// elementwise, so the same for any thread count.
void sum_owned_gradients(const Optimizer<float>& optimizer, int me, int64_t shards, const ParameterPartition& partition,
                         const std::vector<bool>& reached, const std::vector<float>& received) {
  const int64_t width = partition.elements(me);
  const float divisor = static_cast<float>(shards);
  for (size_t i = partition.bounds[me]; i < partition.bounds[me + 1]; ++i) {
    if (!reached[i]) continue;
    const Tensor<float>& parameter = optimizer.parameters()[i].second;
    Tensor<float> sum = Tensor<float>::empty(parameter.shape());
    float* out = sum.data();
    const float* base = received.data() + (partition.offsets[i] - partition.first_element(me));
    parallel_for(parameter.numel(), 4096, [&](int64_t begin, int64_t end) {
      for (int64_t e = begin; e < end; ++e) {
        float acc = base[e];
        for (int64_t s = 1; s < shards; ++s) acc += base[s * width + e];
        out[e] = acc / divisor;
      }
    });
    parameter.impl()->grad = sum;
  }
}

// clip_grad_norm over gradients spread over the ranks: every reached parameter's chunk sums come
// from its owner and are added in parameter order, then each owner scales its own gradients.
void clip_owned_gradients(distributed::Communicator& communicator, const Optimizer<float>& optimizer,
                          const ParameterPartition& partition, const std::vector<bool>& reached, double clip_norm) {
  const NamedTensors<float>& parameters = optimizer.parameters();
  const int me = communicator.rank();
  std::vector<size_t> first_chunk(parameters.size() + 1, 0);  // reached parameter i's chunks at [first_chunk[i], ..)
  for (size_t i = 0; i < parameters.size(); ++i) {
    first_chunk[i + 1] =
        first_chunk[i] + (reached[i] ? static_cast<size_t>(norm_chunk_count(parameters[i].second.numel())) : 0);
  }
  std::vector<double> mine(first_chunk.back(), 0.0);  // (chunks): this rank's own, zeros elsewhere
  for (size_t i = partition.bounds[me]; i < partition.bounds[me + 1]; ++i) {
    if (!reached[i]) continue;
    const Tensor<float> grad = parameters[i].second.grad();
    const std::vector<double> sums = norm_chunk_sums(grad.data(), grad.numel());
    std::copy(sums.begin(), sums.end(), mine.begin() + static_cast<std::ptrdiff_t>(first_chunk[i]));
  }
  const std::vector<double> all = communicator.size() > 1 ? communicator.all_gather(mine) : mine;  // (R, chunks)
  double sum = 0;
  for (size_t i = 0; i < parameters.size(); ++i) {
    const size_t owner = static_cast<size_t>(partition.owner(i));
    for (size_t c = first_chunk[i]; c < first_chunk[i + 1]; ++c) sum += all[owner * mine.size() + c];
  }
  const double scale = clip_scale(std::sqrt(sum), clip_norm);
  if (scale == 1) return;
  NoGradGuard no_grad;
  for (size_t i = partition.bounds[me]; i < partition.bounds[me + 1]; ++i) {
    if (reached[i]) scale_gradient(parameters[i].second.grad().data(), parameters[i].second.numel(), scale);
  }
}

// Each rank's part of `parts` (P pointers to numel() elements each, one per parameter) goes to
// every rank, through workspace.values.
void gather_owned(distributed::Communicator& communicator, const ParameterPartition& partition,
                  const std::vector<float*>& parts, std::vector<float>& values) {
  const int me = communicator.rank();
  values.resize(static_cast<size_t>(partition.offsets.back()));
  const auto numel = [&](size_t i) { return static_cast<size_t>(partition.offsets[i + 1] - partition.offsets[i]); };
  for (size_t i = partition.bounds[me]; i < partition.bounds[me + 1]; ++i) {
    std::memcpy(values.data() + partition.offsets[i], parts[i], sizeof(float) * numel(i));
  }
  std::vector<size_t> bytes;
  for (int q = 0; q < communicator.size(); ++q)
    bytes.push_back(sizeof(float) * static_cast<size_t>(partition.elements(q)));
  communicator.all_gather_varying_in_place(values.data(), bytes);
  for (size_t i = 0; i < parts.size(); ++i) {
    if (partition.owner(i) != me) std::memcpy(parts[i], values.data() + partition.offsets[i], sizeof(float) * numel(i));
  }
}

// The partition of the optimizer's parameters among the communicator's ranks, made once.
const ParameterPartition& partition_of(const distributed::Communicator& communicator, const Optimizer<float>& optimizer,
                                       ShardWorkspace& workspace) {
  if (!workspace.partition) workspace.partition.emplace(optimizer.parameters(), communicator.size());
  return *workspace.partition;
}

}  // namespace

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

ParameterPartition::ParameterPartition(const NamedTensors<float>& parameters, int ranks) {
  offsets = {0};
  for (const auto& [name, parameter] : parameters) offsets.push_back(offsets.back() + parameter.numel());
  const int64_t total = offsets.back();
  bounds.assign(static_cast<size_t>(ranks) + 1, parameters.size());
  // bounds[q] = the first parameter whose middle element lies in rank q's share or later.
  for (int q = ranks - 1; q >= 0; --q) {
    size_t first = bounds[static_cast<size_t>(q) + 1];
    while (first > 0) {
      const int64_t middle = offsets[first - 1] + (offsets[first] - offsets[first - 1]) / 2;
      if (total == 0 || middle * ranks < q * total) break;
      --first;
    }
    bounds[static_cast<size_t>(q)] = first;
  }
  bounds[0] = 0;
}

int ParameterPartition::owner(size_t parameter) const {
  const auto after = std::upper_bound(bounds.begin(), bounds.end(), parameter);
  return static_cast<int>(after - bounds.begin()) - 1;
}

ShardedLoss sharded_step(distributed::Communicator& communicator, nn::Module<float>& model, Optimizer<float>& optimizer,
                         int64_t shards, int64_t step,
                         const std::function<BatchLoss(int64_t, const Shard&)>& batch_loss, double clip_norm,
                         ShardWorkspace& workspace) {
  const NamedTensors<float>& parameters = optimizer.parameters();
  const ParameterPartition& partition = partition_of(communicator, optimizer, workspace);
  const int me = communicator.rank();
  backward_local_shards(communicator, model, optimizer, shards, step, batch_loss, partition, workspace);

  ShardedLoss result;
  // The ranks meet first, so that the exchange's time is the transfer alone.
  auto exchange_start = std::chrono::steady_clock::now();
  if (communicator.size() > 1) communicator.barrier();
  result.wait_seconds = seconds_since(exchange_start);
  exchange_start = std::chrono::steady_clock::now();
  const std::vector<float>& gradients = exchange_gradients(communicator, shards, partition, workspace);
  result.exchange_seconds += seconds_since(exchange_start);
  const std::vector<bool> reached = reached_parameters(workspace.summaries, shards, parameters.size());
  const size_t counters = kSummaryHead + parameters.size();
  for (int64_t s = 0; s < shards; ++s) {
    result.loss += workspace.summaries[static_cast<size_t>(s) * counters];
    result.items += static_cast<int64_t>(workspace.summaries[static_cast<size_t>(s) * counters + 1]);
  }
  result.loss /= static_cast<double>(shards);

  optimizer.zero_grad();
  sum_owned_gradients(optimizer, me, shards, partition, reached, gradients);
  if (clip_norm > 0) clip_owned_gradients(communicator, optimizer, partition, reached, clip_norm);
  optimizer.step_part(partition.bounds[me], partition.bounds[me + 1], reached);
  if (communicator.size() > 1) {
    exchange_start = std::chrono::steady_clock::now();
    std::vector<float*> values;
    for (const auto& [name, parameter] : parameters) values.push_back(Tensor<float>(parameter).data());
    gather_owned(communicator, partition, values, workspace.values);
    result.exchange_seconds += seconds_since(exchange_start);
  }
  return result;
}

void gather_optimizer_state(distributed::Communicator& communicator, Optimizer<float>& optimizer,
                            ShardWorkspace& workspace) {
  if (communicator.size() == 1) return;
  const ParameterPartition& partition = partition_of(communicator, optimizer, workspace);
  for (int b = 0; b < optimizer.buffer_count(); ++b) {
    std::vector<float*> buffers;
    for (size_t i = 0; i < optimizer.parameters().size(); ++i) buffers.push_back(optimizer.buffer(b, i));
    gather_owned(communicator, partition, buffers, workspace.values);
  }
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
