// The single-process communicator, the typed helpers, and world() when attend is built without
// MPI (mpi_communicator.cc defines world() otherwise).
#include "attend/distributed/communicator.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "attend/core/error.h"

namespace attend::distributed {

void Communicator::broadcast_string(std::string& text, int root) {
  std::vector<uint64_t> length = {static_cast<uint64_t>(text.size())};
  broadcast(length, root);
  text.resize(length[0]);
  broadcast_bytes(text.data(), text.size(), root);
}

void Communicator::all_gather_in_place(void* buffer, size_t bytes) {
  auto* base = static_cast<unsigned char*>(buffer);
  const std::vector<unsigned char> mine(base + static_cast<size_t>(rank()) * bytes,
                                        base + static_cast<size_t>(rank() + 1) * bytes);
  all_gather_bytes(mine.data(), bytes, buffer);
}

// The generic forms: one broadcast per rank, and a gather of every block by every rank (MPI's
// communicator has direct ones).
void Communicator::all_gather_varying_in_place(void* buffer, const std::vector<size_t>& bytes) {
  ATTEND_CHECK(bytes.size() == static_cast<size_t>(size()), ValueError,
               "all_gather_varying_in_place: {} sizes for {} ranks", bytes.size(), size());
  auto* part = static_cast<unsigned char*>(buffer);
  for (int q = 0; q < size(); ++q) {
    broadcast_bytes(part, bytes[q], q);
    part += bytes[q];
  }
}

void Communicator::all_to_all_bytes(const void* send, const std::vector<size_t>& send_bytes, void* receive,
                                    const std::vector<size_t>& receive_bytes) {
  const size_t ranks = static_cast<size_t>(size());
  ATTEND_CHECK(send_bytes.size() == ranks && receive_bytes.size() == ranks, ValueError,
               "all_to_all_bytes: {} send and {} receive sizes for {} ranks", send_bytes.size(), receive_bytes.size(),
               ranks);
  // Every rank's blocks, padded to the largest block: (ranks, ranks, widest).
  const std::vector<uint64_t> sizes = all_gather(std::vector<uint64_t>(send_bytes.begin(), send_bytes.end()));
  const size_t widest = *std::max_element(sizes.begin(), sizes.end());
  std::vector<unsigned char> mine(ranks * widest), all(ranks * ranks * widest);
  const auto* from = static_cast<const unsigned char*>(send);
  for (size_t q = 0; q < ranks; ++q) {
    std::memcpy(mine.data() + q * widest, from, send_bytes[q]);
    from += send_bytes[q];
  }
  all_gather_bytes(mine.data(), mine.size(), all.data());
  auto* to = static_cast<unsigned char*>(receive);
  const size_t me = static_cast<size_t>(rank());
  for (size_t q = 0; q < ranks; ++q) {
    ATTEND_CHECK(sizes[q * ranks + me] == receive_bytes[q], ValueError,
                 "all_to_all_bytes: rank {} sends {} bytes to rank {}, which expects {}", q, sizes[q * ranks + me], me,
                 receive_bytes[q]);
    std::memcpy(to, all.data() + (q * ranks + me) * widest, receive_bytes[q]);
    to += receive_bytes[q];
  }
}

std::vector<int64_t> Communicator::sum_counts(const std::vector<int64_t>& counts) {
  if (size() == 1) return counts;
  const std::vector<int64_t> all = all_gather(counts);  // (ranks, counts)
  std::vector<int64_t> sums(counts.size(), 0);
  for (size_t i = 0; i < all.size(); ++i) sums[i % counts.size()] += all[i];
  return sums;
}

void SingleProcess::all_gather_bytes(const void* data, size_t bytes, void* out) {
  if (bytes > 0) std::memcpy(out, data, bytes);
}

void SingleProcess::abort(int code) { std::exit(code); }

uint64_t fingerprint_bytes(const void* bytes, size_t count, uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(bytes);
  uint64_t hash = seed;
  for (size_t i = 0; i < count; ++i) hash = (hash ^ p[i]) * 0x100000001b3ull;
  return hash;
}

#ifndef ATTEND_WITH_MPI
Communicator& world() {
  // Started as one of several processes by an MPI launcher: each would train alone and write
  // the same files.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    const char* size = std::getenv(name);
    ATTEND_CHECK(size == nullptr || std::strcmp(size, "1") == 0, ValueError,
                 "started by an MPI launcher as one of {} processes, but this attend was built without MPI "
                 "(install libopenmpi-dev and rebuild: ATTEND_WITH_MPI)",
                 size);
  }
  static SingleProcess single;
  return single;
}

bool built_with_mpi() { return false; }
#endif

}  // namespace attend::distributed
