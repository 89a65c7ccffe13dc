// Compiled once per SIMD target by Highway's foreach_target (AVX-512 VNNI included).
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/peak_loops.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include "kernels/vnni-inl.h"

#include <atomic>
#include <chrono>

#include "attend/core/parallel.h"
#include "kernels/peak_loops.h"

#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#include <immintrin.h>
#endif

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr int kAccumulators = 16;

// int8 multiply-adds done, 0 without an x86 integer dot product.
int64_t Int8Loop(int64_t iterations) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  using V = __m512i;
  V u = _mm512_set1_epi8(3), s = _mm512_set1_epi8(-5);
  const auto step = [](V acc, V a, V b) HWY_ATTR {
#if HWY_TARGET == HWY_AVX3_DL
    return DotBytes(acc, a, b);
#else
    return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(a, b), _mm512_set1_epi16(1)));
#endif
  };
  // One lane is enough to keep the loop's results alive (a sum of the lanes would overflow int32:
  // _mm512_reduce_add_epi32 adds them as signed ints, undefined behaviour that UBSan reports).
  const auto fold = [](V v) HWY_ATTR {
    alignas(64) int32_t lanes[16];
    _mm512_store_si512(lanes, v);
    return static_cast<int64_t>(lanes[0]);
  };
#elif HWY_TARGET == HWY_AVX2
  using V = __m256i;
  V u = _mm256_set1_epi8(3), s = _mm256_set1_epi8(-5);
  const auto step = [](V acc, V a, V b) HWY_ATTR {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1)));
  };
  const auto fold = [](V v) HWY_ATTR {
    alignas(32) int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), v);
    return static_cast<int64_t>(lanes[0]);
  };
#endif
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  V acc[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i) acc[i] = u;
  for (int64_t k = 0; k < iterations; ++k) {
#pragma GCC unroll 16
    for (int i = 0; i < kAccumulators; ++i) acc[i] = step(acc[i], u, s);
    asm volatile("" : "+v"(u));  // keeps the loop from being folded away
  }
  int64_t sink = 0;
  for (int i = 0; i < kAccumulators; ++i) sink += fold(acc[i]);
  asm volatile("" : : "r"(sink));
  return iterations * kAccumulators * static_cast<int64_t>(sizeof(V));
#else
  (void)iterations;
  return 0;
#endif
}

int64_t FloatLoop(int64_t iterations) {
  const hn::ScalableTag<float> d;
  auto a = hn::Set(d, 1.0001f), b = hn::Set(d, -0.0001f);
  decltype(a) acc[kAccumulators];
  for (int i = 0; i < kAccumulators; ++i) acc[i] = hn::Set(d, static_cast<float>(i));
  for (int64_t k = 0; k < iterations; ++k) {
#pragma GCC unroll 16
    for (int i = 0; i < kAccumulators; ++i) acc[i] = hn::MulAdd(acc[i], a, b);
  }
  float sink = 0;
  for (int i = 0; i < kAccumulators; ++i) sink += hn::GetLane(acc[i]);
  asm volatile("" : : "r"(sink));
  return iterations * kAccumulators * static_cast<int64_t>(hn::Lanes(d));
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {
namespace {

template <typename Loop>
double rate(Loop loop, int64_t iterations) {
  std::atomic<int64_t> done{0};
  const auto start = std::chrono::steady_clock::now();
  parallel_for(num_threads(), 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) done += loop(iterations);
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(done.load()) / seconds;
}

}  // namespace

HWY_EXPORT(Int8Loop);
HWY_EXPORT(FloatLoop);

double int8_peak_macs_per_second(int64_t iterations) {
  return rate([](int64_t n) { return HWY_DYNAMIC_DISPATCH(Int8Loop)(n); }, iterations);
}

double float_peak_macs_per_second(int64_t iterations) {
  return rate([](int64_t n) { return HWY_DYNAMIC_DISPATCH(FloatLoop)(n); }, iterations);
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
