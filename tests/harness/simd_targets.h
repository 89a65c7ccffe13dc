// for_each_simd_target(fn): runs fn once per SIMD target Highway compiled and this CPU runs
// (e.g. AVX2, SSE4, SSSE3, EMU128 here), with every HWY_DYNAMIC_DISPATCH pinned to that target,
// then restores normal dispatch. Kernel tests wrap their bodies in it, so that targets without
// FMA or with other vector widths are checked as well as the one the machine would pick.
#pragma once

#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <functional>

namespace attend::testing {
// Internal linkage on purpose: which targets Highway compiles (HWY_TARGETS) depends on the
// including file (a kernel test that defines HWY_WANT_AVX3_DL adds AVX-512 VNNI). As an inline
// function of external linkage, every test file's copy would be "the same" function and the
// linker would keep one of them: an unoptimized (sanitizer) build kept one without AVX3_DL, and
// the VNNI kernels went untested there. hwy::SupportedAndGeneratedTargets() has the same
// problem, so the mask is taken here.
namespace {

// fn(target name), for callers that report the target in their own messages (the fused
// attention check); dispatch is restored even when fn throws.
[[maybe_unused]] void for_each_simd_target_named(const std::function<void(const char* target)>& fn) {
  struct RestoreDispatch {
    ~RestoreDispatch() { hwy::SetSupportedTargetsForTest(0); }
  } restore;
  for (int64_t targets = hwy::SupportedTargets() & HWY_TARGETS; targets != 0; targets &= targets - 1) {
    const int64_t target = targets & ~(targets - 1);
    hwy::SetSupportedTargetsForTest(target);
    fn(hwy::TargetName(target));
  }
}

[[maybe_unused]] void for_each_simd_target(const std::function<void()>& fn) {
  for_each_simd_target_named([&](const char* target) {
    SCOPED_TRACE(target);
    fn();
  });
}

}  // namespace
}  // namespace attend::testing
