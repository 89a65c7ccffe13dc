// for_each_simd_target(fn): runs fn once per SIMD target Highway compiled and this CPU runs
// (e.g. AVX2, SSE4, SSSE3, EMU128 here), with every HWY_DYNAMIC_DISPATCH pinned to that target,
// then restores normal dispatch. Kernel tests wrap their bodies in it, so that targets without
// FMA or with other vector widths are checked as well as the one the machine would pick.
#pragma once

#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <functional>

namespace attend::testing {

// fn(target name), for callers that report the target in their own messages (the fused
// attention check); dispatch is restored even when fn throws.
inline void for_each_simd_target_named(const std::function<void(const char* target)>& fn) {
  struct RestoreDispatch {
    ~RestoreDispatch() { hwy::SetSupportedTargetsForTest(0); }
  } restore;
  for (const int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    fn(hwy::TargetName(target));
  }
}

inline void for_each_simd_target(const std::function<void()>& fn) {
  for_each_simd_target_named([&](const char* target) {
    SCOPED_TRACE(target);
    fn();
  });
}

}  // namespace attend::testing
