// A group of processes that train one model together (data parallelism): each knows its rank
// and the group's size, and they exchange bytes collectively. Two implementations: the single
// process (size 1, every collective a copy) and MPI (mpi_communicator.cc, built when CMake finds
// MPI; see world() below).
//
// Collectives are called by every rank in the same order with the same counts; a rank that
// calls something else (or dies) leaves the others waiting, which is why a failing rank must
// call abort() rather than return (the command line does: tools/main.cc).
//
// Reductions here are orderless exchanges (gather, broadcast): summing is left to the caller,
// which sums gathered values in a fixed order so that the result is bitwise the same on every
// rank and for every rank count (train/trainer.h: gradient shards).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attend::distributed {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Every rank sends `bytes` bytes; `out` receives size() * bytes: rank 0's first, then rank 1's ...
  virtual void all_gather_bytes(const void* data, size_t bytes, void* out) = 0;
  // all_gather_bytes where each rank's part is already in place: `buffer` holds size() * bytes,
  // this rank's at rank() * bytes; the others' parts arrive around it.
  virtual void all_gather_in_place(void* buffer, size_t bytes);
  // all_gather_in_place with parts of different sizes: rank q's part is bytes[q] bytes at
  // bytes[0] + ... + bytes[q - 1] in `buffer`; this rank's is in place, the others' arrive around
  // it. `bytes` (size() sizes) must agree on every rank.
  virtual void all_gather_varying_in_place(void* buffer, const std::vector<size_t>& bytes);
  // Every rank sends send_bytes[q] bytes to rank q (the blocks lie in rank order in `send`) and
  // receives receive_bytes[q] from rank q (in rank order into `receive`); send_bytes[q] on this
  // rank must equal receive_bytes[rank()] on rank q. `send` and `receive` do not overlap.
  virtual void all_to_all_bytes(const void* send, const std::vector<size_t>& send_bytes, void* receive,
                                const std::vector<size_t>& receive_bytes) = 0;
  // Rank `root`'s `bytes` bytes at `data` replace the others' (bytes must agree on every rank).
  virtual void broadcast_bytes(void* data, size_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // Stops every rank of the group with exit status `code` (never returns).
  [[noreturn]] virtual void abort(int code) = 0;
  // E.g. "single process" or "MPI (Open MPI v4.1.4), 2 ranks".
  virtual std::string description() const = 0;

  bool is_root() const { return rank() == 0; }

  // Typed helpers over the byte collectives.
  template <typename T>
  std::vector<T> all_gather(const std::vector<T>& values) {  // size() * values.size(), in rank order
    std::vector<T> out(values.size() * static_cast<size_t>(size()));
    all_gather_bytes(values.data(), values.size() * sizeof(T), out.data());
    return out;
  }
  template <typename T>
  void broadcast(std::vector<T>& values, int root = 0) {
    broadcast_bytes(values.data(), values.size() * sizeof(T), root);
  }
  // A string of any length from `root` (its length goes first).
  void broadcast_string(std::string& text, int root = 0);
  // Element-wise sums of every rank's counts (integers: exact, whatever the order).
  std::vector<int64_t> sum_counts(const std::vector<int64_t>& counts);
};

// The single process: rank 0 of 1.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_gather_bytes(const void* data, size_t bytes, void* out) override;
  void all_gather_in_place(void*, size_t) override {}
  void all_gather_varying_in_place(void*, const std::vector<size_t>&) override {}
  void all_to_all_bytes(const void* send, const std::vector<size_t>& send_bytes, void* receive,
                        const std::vector<size_t>& receive_bytes) override;
  void broadcast_bytes(void*, size_t, int) override {}
  void barrier() override {}
  [[noreturn]] void abort(int code) override;
  std::string description() const override { return "single process"; }
};

// The process's group: MPI's world when attend was built with MPI and this process was started
// by an MPI launcher (mpirun, srun: detected from their environment variables), initializing MPI
// on the first call; otherwise a SingleProcess. MPI is finalized at exit.
Communicator& world();

// Whether this build can run over MPI (CMake found MPI: ATTEND_WITH_MPI).
bool built_with_mpi();

// FNV-1a of `count` bytes, continuing from `seed` (another fingerprint, to chain them): the
// fingerprints ranks compare before they train together.
constexpr uint64_t kFingerprintStart = 0xcbf29ce484222325ull;
uint64_t fingerprint_bytes(const void* bytes, size_t count, uint64_t seed = kFingerprintStart);
inline uint64_t fingerprint(std::string_view text, uint64_t seed = kFingerprintStart) {
  return fingerprint_bytes(text.data(), text.size(), seed);
}

}  // namespace attend::distributed
