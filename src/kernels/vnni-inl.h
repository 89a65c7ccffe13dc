// AVX-512 VNNI's vpdpbusd for Highway's AVX3_DL target, per target like Highway's own -inl.h
// headers (include it after hwy/highway.h in a foreach_target file):
//
//   acc[l] += sum over t < 4 of u[4l + t] * s[4l + t]      u unsigned bytes, s signed bytes
//   (DotBytesBroadcast: s the same four bytes in every lane l)
//
// Written as inline assembly: neither GCC 12's nor clang 14's target string for AVX3_DL names
// avx512vnni, so the intrinsic does not compile there. Only the 512-bit form, which has only
// the EVEX encoding (the 256-bit one could assemble to AVX-VNNI's VEX form, which an AVX-512
// VNNI CPU may lack).
#if defined(ATTEND_KERNELS_VNNI_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ATTEND_KERNELS_VNNI_INL_H_
#undef ATTEND_KERNELS_VNNI_INL_H_
#else
#define ATTEND_KERNELS_VNNI_INL_H_
#endif

#include <hwy/highway.h>

#if HWY_TARGET == HWY_AVX3_DL
#include <immintrin.h>
#endif

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {

#if HWY_TARGET == HWY_AVX3_DL
HWY_INLINE __m512i DotBytes(__m512i acc, __m512i u, __m512i s) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s));
  return acc;
}

// The same with s the four signed bytes at `quad` broadcast to every lane, read by the
// instruction itself (an embedded broadcast: no register, no separate load).
struct FourBytes {
  int8_t bytes[4];
};
HWY_INLINE __m512i DotBytesBroadcast(__m512i acc, __m512i u, const void* quad) {
  asm("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(u), "m"(*static_cast<const FourBytes*>(quad)));
  return acc;
}
#endif

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#endif  // ATTEND_KERNELS_VNNI_INL_H_
