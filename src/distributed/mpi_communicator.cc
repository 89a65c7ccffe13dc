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
