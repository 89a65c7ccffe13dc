// The MPI communicator (compiled when CMake finds MPI: ATTEND_WITH_MPI) and world() for such a
// build: MPI's world when an MPI launcher started this process, else the single process.
#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "attend/io/atomic_file.h"  // IoError
#include "attend/distributed/communicator.h"

namespace attend::distributed {
namespace {

// MPI counts are int: the byte collectives go in chunks of at most this many bytes.
constexpr size_t kChunkBytes = size_t{1} << 30;

void check_mpi(int status, const char* call) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, text, &length);
  ATTEND_CHECK(false, io::IoError, "{} failed: {}", call, std::string(text, static_cast<size_t>(length)));
}

// Whether a launcher started this process: Open MPI's mpirun, or a PMI/PMIx one (Slurm's srun,
// MPICH's Hydra).
bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

class Mpi final : public Communicator {
 public:
  Mpi() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) check_mpi(MPI_Init(nullptr, nullptr), "MPI_Init");
    // Errors come back as status codes (check_mpi turns them into exceptions) instead of
    // aborting inside MPI.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~Mpi() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_gather_bytes(const void* data, size_t bytes, void* out) override {
    if (bytes <= kChunkBytes) {  // one call, straight into `out`
      check_mpi(MPI_Allgather(data, static_cast<int>(bytes), MPI_BYTE, out, static_cast<int>(bytes), MPI_BYTE,
                              MPI_COMM_WORLD),
                "MPI_Allgather");
      return;
    }
    auto* gathered = static_cast<unsigned char*>(out);
    std::vector<unsigned char> chunk_out;
    for (size_t offset = 0; offset < bytes; offset += kChunkBytes) {
      const size_t n = std::min(kChunkBytes, bytes - offset);
      chunk_out.resize(n * static_cast<size_t>(size_));
      check_mpi(MPI_Allgather(static_cast<const unsigned char*>(data) + offset, static_cast<int>(n), MPI_BYTE,
                              chunk_out.data(), static_cast<int>(n), MPI_BYTE, MPI_COMM_WORLD),
                "MPI_Allgather");
      for (int r = 0; r < size_; ++r) {
        std::memcpy(gathered + static_cast<size_t>(r) * bytes + offset, chunk_out.data() + static_cast<size_t>(r) * n,
                    n);
      }
    }
  }

  void all_gather_in_place(void* buffer, size_t bytes) override {
    if (bytes > kChunkBytes) {  // the chunked path of all_gather_bytes, from a copy
      Communicator::all_gather_in_place(buffer, bytes);
      return;
    }
    check_mpi(
        MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buffer, static_cast<int>(bytes), MPI_BYTE, MPI_COMM_WORLD),
        "MPI_Allgather");
  }

  void all_gather_varying_in_place(void* buffer, const std::vector<size_t>& bytes) override {
    ATTEND_CHECK(bytes.size() == static_cast<size_t>(size_), ValueError,
                 "all_gather_varying_in_place: {} sizes for {} ranks", bytes.size(), size_);
    size_t total = 0;
    for (const size_t part : bytes) total += part;
    if (total > kChunkBytes) {  // MPI's int displacements do not reach: one broadcast per rank
      Communicator::all_gather_varying_in_place(buffer, bytes);
      return;
    }
    std::vector<int> counts, offsets;
    int offset = 0;
    for (const size_t part : bytes) {
      offsets.push_back(offset);
      counts.push_back(static_cast<int>(part));
      offset += static_cast<int>(part);
    }
    check_mpi(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buffer, counts.data(), offsets.data(), MPI_BYTE,
                             MPI_COMM_WORLD),
              "MPI_Allgatherv");
  }

  // Pairwise exchange: in round k rank r sends to r + k and receives from r - k (mod size), in
  // chunks that fit MPI's int counts.
  void all_to_all_bytes(const void* send, const std::vector<size_t>& send_bytes, void* receive,
                        const std::vector<size_t>& receive_bytes) override {
    const size_t ranks = static_cast<size_t>(size_), me = static_cast<size_t>(rank_);
    ATTEND_CHECK(send_bytes.size() == ranks && receive_bytes.size() == ranks, ValueError,
                 "all_to_all_bytes: {} send and {} receive sizes for {} ranks", send_bytes.size(), receive_bytes.size(),
                 ranks);
    std::vector<size_t> send_offsets = {0}, receive_offsets = {0};
    for (size_t q = 0; q < ranks; ++q) {
      send_offsets.push_back(send_offsets.back() + send_bytes[q]);
      receive_offsets.push_back(receive_offsets.back() + receive_bytes[q]);
    }
    const auto* from = static_cast<const unsigned char*>(send);
    auto* to = static_cast<unsigned char*>(receive);
    ATTEND_CHECK(send_bytes[me] == receive_bytes[me], ValueError,
                 "all_to_all_bytes: rank {} sends itself {} bytes but expects {}", me, send_bytes[me],
                 receive_bytes[me]);
    std::memcpy(to + receive_offsets[me], from + send_offsets[me], send_bytes[me]);
    for (size_t k = 1; k < ranks; ++k) {
      const size_t destination = (me + k) % ranks, source = (me + ranks - k) % ranks;
      const size_t outgoing = send_bytes[destination], incoming = receive_bytes[source];
      // One message per chunk each way (none for an empty block); MPI_PROC_NULL when one way is done.
      const size_t out_chunks = (outgoing + kChunkBytes - 1) / kChunkBytes;
      const size_t in_chunks = (incoming + kChunkBytes - 1) / kChunkBytes;
      for (size_t c = 0; c < std::max(out_chunks, in_chunks); ++c) {
        const size_t offset = c * kChunkBytes;
        const size_t out_n = c < out_chunks ? std::min(kChunkBytes, outgoing - offset) : 0;
        const size_t in_n = c < in_chunks ? std::min(kChunkBytes, incoming - offset) : 0;
        MPI_Status status;
        check_mpi(MPI_Sendrecv(from + send_offsets[destination] + (out_n ? offset : 0), static_cast<int>(out_n),
                               MPI_BYTE, c < out_chunks ? static_cast<int>(destination) : MPI_PROC_NULL, 0,
                               to + receive_offsets[source] + (in_n ? offset : 0), static_cast<int>(in_n), MPI_BYTE,
                               c < in_chunks ? static_cast<int>(source) : MPI_PROC_NULL, 0, MPI_COMM_WORLD, &status),
                  "MPI_Sendrecv");
        int received = 0;
        MPI_Get_count(&status, MPI_BYTE, &received);
        ATTEND_CHECK(static_cast<size_t>(received) == in_n, ValueError,
                     "all_to_all_bytes: rank {} received {} bytes from rank {}, expected {}", me, received, source,
                     in_n);
      }
    }
  }

  void broadcast_bytes(void* data, size_t bytes, int root) override {
    for (size_t offset = 0; offset < bytes; offset += kChunkBytes) {
      const size_t n = std::min(kChunkBytes, bytes - offset);
      check_mpi(
          MPI_Bcast(static_cast<unsigned char*>(data) + offset, static_cast<int>(n), MPI_BYTE, root, MPI_COMM_WORLD),
          "MPI_Bcast");
    }
  }

  void barrier() override { check_mpi(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);  // MPI_Abort does not return; this keeps [[noreturn]] honest
  }

  std::string description() const override {
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    std::string library(version, static_cast<size_t>(length));
    library = library.substr(0, library.find(','));  // "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4"
    return fmt::format("MPI ({}), {} rank{}", library, size_, size_ == 1 ? "" : "s");
  }

 private:
  int rank_ = 0, size_ = 1;
};

}  // namespace

Communicator& world() {
  if (launched_by_mpi()) {
    static Mpi mpi;
    return mpi;
  }
  static SingleProcess single;
  return single;
}

bool built_with_mpi() { return true; }

}  // namespace attend::distributed
