// The single-process communicator, the typed helpers, and world() when attend is built without
// MPI (mpi_communicator.cc defines world() otherwise).
#include "attend/distributed/communicator.h"

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

// The generic form: one broadcast per rank (MPI's communicator uses MPI_Allgatherv when the
// sizes fit its int counts).
void Communicator::all_gather_varying_in_place(void* buffer, const std::vector<size_t>& bytes) {
  ATTEND_CHECK(bytes.size() == static_cast<size_t>(size()), ValueError,
               "all_gather_varying_in_place: {} sizes for {} ranks", bytes.size(), size());
  auto* part = static_cast<unsigned char*>(buffer);
  for (int q = 0; q < size(); ++q) {
    broadcast_bytes(part, bytes[q], q);
    part += bytes[q];
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

void SingleProcess::all_to_all_bytes(const void* send, const std::vector<size_t>& send_bytes, void* receive,
                                     const std::vector<size_t>& receive_bytes) {
  ATTEND_CHECK(send_bytes.size() == 1 && receive_bytes.size() == 1 && send_bytes[0] == receive_bytes[0], ValueError,
               "all_to_all_bytes: one process sends itself what it receives, got {} and {} sizes", send_bytes.size(),
               receive_bytes.size());
  if (send_bytes[0] > 0) std::memcpy(receive, send, send_bytes[0]);
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
