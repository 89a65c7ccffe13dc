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

// The machine's physical memory in bytes (0 when the system does not say). Tensor::empty refuses
// a tensor larger than this with its shape and size in the message (ValueError) instead of
// starting a computation the machine cannot hold, e.g. the (N, N) weights of attention over a
// million positions.
int64_t physical_memory_bytes();

// For training loops and batched inference, which free and allocate the same activations every
// step: glibc serves blocks above its mmap threshold (128 KiB at first) with fresh mappings and
// unmaps them on free, so every step page-faults them in again (15% of a Fashion-MNIST step and
// 9% of MiniLM embedding 128-token texts, measured with perf).
// Keeps blocks up to 32 MiB in the heap and stops trimming it, so that freed blocks are reused.
// Process-wide; a no-op where the C library is not glibc.
void keep_freed_memory_for_reuse();

}  // namespace attend
