// For the op harness's thread-count check only (tests/harness/op_harness.h): test shapes are
// small, and parallel_for keeps small work on one thread (its grain), so two threads would run
// the same serial path as one. Under a GrainOverrideGuard every parallel_for splits with the
// given grain whatever its caller asked, and parallel_split_count() tells whether any did.
#pragma once

#include <cstdint>

namespace attend::detail {

class GrainOverrideGuard {
 public:
  explicit GrainOverrideGuard(int64_t grain);
  ~GrainOverrideGuard();
  GrainOverrideGuard(const GrainOverrideGuard&) = delete;
  GrainOverrideGuard& operator=(const GrainOverrideGuard&) = delete;

 private:
  int64_t previous_;
};

// How many parallel_for calls have run on more than one chunk, since the process started.
int64_t parallel_split_count();

}  // namespace attend::detail
