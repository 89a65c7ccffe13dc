// kernels::philox_draws, the vectorized Philox4x32-10 of the dropout streams, against the scalar
// philox_4x32 (itself checked against Random123's known answers in random_test.cc): every draw,
// for ranges that start and end at every offset within a block, that take four vectors of blocks
// at once or cross philox_draws' chunks of 1,024 draws, and for keys and counters that use all
// 64 bits.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "attend/core/error.h"
#include "attend/core/random.h"
#include "kernels/philox.h"

namespace attend {
namespace {

uint32_t scalar_draw(uint64_t key, uint64_t counter_high, uint64_t position) {
  return philox_4x32(key, counter_high, position / 4)[position % 4];
}

TEST(PhiloxDraws, EqualTheScalarGeneratorForEveryRange) {
  const uint64_t keys[] = {0, 1, 0x0123456789abcdefULL, UINT64_MAX};
  const uint64_t highs[] = {0, 1, 0xfedcba9876543210ULL};
  const uint64_t firsts[] = {0, 1, 2, 3, 4, 5, 1000, (1ULL << 34) - 3, UINT64_MAX - 300};
  const int64_t counts[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 64, 257, 1021, 1024, 1025, 2500};
  for (uint64_t key : keys) {
    for (uint64_t high : highs) {
      for (uint64_t first : firsts) {
        for (int64_t count : counts) {
          if (count > 0 && static_cast<uint64_t>(count) - 1 > UINT64_MAX - first) continue;  // past the end
          std::vector<uint32_t> draws(static_cast<size_t>(count) + 1, 0xDEADBEEF);           // +1: a sentinel
          kernels::philox_draws(key, high, first, count, draws.data());
          for (int64_t e = 0; e < count; ++e) {
            ASSERT_EQ(draws[e], scalar_draw(key, high, first + static_cast<uint64_t>(e)))
                << "key " << key << " high " << high << " first " << first << " count " << count << " e " << e;
          }
          ASSERT_EQ(draws[count], 0xDEADBEEF) << "wrote past the end: first " << first << " count " << count;
        }
      }
    }
  }
}

TEST(PhiloxDraws, RefusesARangePastTheEndOfTheStream) {
  uint32_t draws[4];
  kernels::philox_draws(1, 1, UINT64_MAX - 3, 4, draws);  // the last four positions: fine
  EXPECT_EQ(draws[3], scalar_draw(1, 1, UINT64_MAX));
  EXPECT_THROW(kernels::philox_draws(1, 1, UINT64_MAX - 2, 4, draws), ValueError);
}

TEST(PhiloxDraws, ZeroKeyAndCounterIsRandom123sKnownAnswer) {
  // philox4x32_10 with counter 0 and key 0 (Random123's kat_vectors).
  uint32_t draws[4];
  kernels::philox_draws(0, 0, 0, 4, draws);
  EXPECT_EQ(draws[0], 0x6627e8d5u);
  EXPECT_EQ(draws[1], 0xe169c58du);
  EXPECT_EQ(draws[2], 0xbc57ac4cu);
  EXPECT_EQ(draws[3], 0x9b00dbd8u);
}

}  // namespace
}  // namespace attend
