// The arithmetic roofs: register-only loops at the peak rate of one SIMD instruction, beside
// which `attend bench` reports its ratios. 16 independent accumulators, so that latency never
// holds the ports back; nothing touches memory.
//
//   int8:  acc += u8 x s8 products, 4 a 32-bit lane (AVX-512 VNNI vpdpbusd; AVX2 and AVX-512BW
//          vpmaddubsw + vpmaddwd + vpaddd, the pair that replaces it), int8 multiply-adds/s
//   float: acc = acc * a + b (fused multiply-add), float32 multiply-adds/s
//
// Both run `iterations` steps on every thread at once (parallel_for) and return the total rate.
// int8 returns 0 on targets without an x86 integer dot product.
#pragma once

#include <cstdint>

namespace attend::kernels {

double int8_peak_macs_per_second(int64_t iterations);
double float_peak_macs_per_second(int64_t iterations);

}  // namespace attend::kernels
