#include "train/epoch_order.h"

#include <utility>

#include "attend/core/error.h"
#include "attend/core/random.h"
#include "attend/distributed/communicator.h"

namespace attend::train {

uint64_t stream_seed(uint64_t seed, uint64_t stream, uint64_t index) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (2 * index + stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::vector<int64_t> epoch_order(int64_t count, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(count);
  for (int64_t i = 0; i < count; ++i) order[i] = i;
  Generator generator(stream_seed(seed, 0, static_cast<uint64_t>(epoch)));
  for (int64_t i = count - 1; i > 0; --i) std::swap(order[i], order[generator.uniform_int(i + 1)]);
  return order;
}

void check_last_batch_fills_shards(int64_t items, int64_t batch_size, int64_t shards, const std::string& task,
                                   const std::string& what) {
  const int64_t last_batch = items % batch_size == 0 ? batch_size : items % batch_size;
  ATTEND_CHECK(last_batch >= shards, ValueError,
               "{}: an epoch's last batch has {} {}, fewer than the {} shards; choose another --batch or --shards",
               task, last_batch, what, shards);
}

double accuracy_over_ranks(int64_t correct, int64_t seen) {
  const std::vector<int64_t> counts = distributed::world().sum_counts({correct, seen});
  return counts[1] > 0 ? static_cast<double>(counts[0]) / static_cast<double>(counts[1]) : 0.0;
}

}  // namespace attend::train
