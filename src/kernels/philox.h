// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), many
// counters at once: the dropout streams of ops/dropout.cc and of the fused attention kernels.
// Highway, dispatched at run time (AVX2: four counters per vector); the same bits as
// core/random.h's philox_4x32, which the tests compare it with.
#pragma once

#include <cstdint>

#include "attend/core/random.h"

namespace attend::kernels {

// Whether dropout with probability p keeps the element whose draw this is: the one rule of
// every dropout stream (ops/dropout.cc and the fused attention kernels).
inline bool dropout_keeps(uint32_t draw, double p) { return uniform_float_from_bits(draw) >= p; }

// The 32-bit draws of stream positions first .. first + n - 1 under (key, counter_high):
//   out[e] = word (first + e) % 4 of philox_4x32(key, counter_high, (first + e) / 4)
// so position q always gets the same draw, however a range of positions is cut into calls.
void philox_draws(uint64_t key, uint64_t counter_high, uint64_t first, int64_t n, uint32_t* out);

}  // namespace attend::kernels
