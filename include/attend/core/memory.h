// Counts of tensor storage: bytes held by live buffers and the peak since the last reset.
// Benchmarks read the peak to report the extra memory an implementation needs.
#pragma once

#include <cstdint>

namespace attend {

struct MemoryStats {
  int64_t live_bytes = 0;  // held by buffers alive now
  int64_t peak_bytes = 0;  // highest live_bytes since the last reset_peak_memory()
};

MemoryStats memory_stats();
// Sets the peak to the current live bytes.
void reset_peak_memory();

}  // namespace attend
