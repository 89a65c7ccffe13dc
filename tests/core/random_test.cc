#include <gtest/gtest.h>

#include <cmath>

#include "attend/core/random.h"

namespace attend {
namespace {

TEST(Random, PhiloxKnownAnswer) {
  // Random123's published known-answer vector for philox4x32_10 with zero counter and key:
  // 6627e8d5 e169c58d bc57ac4c 9b00dbd8.
  const auto bits = philox_4x32(0, 0, 0);
  EXPECT_EQ(bits[0], 0x6627e8d5u);
  EXPECT_EQ(bits[1], 0xe169c58du);
  EXPECT_EQ(bits[2], 0xbc57ac4cu);
  EXPECT_EQ(bits[3], 0x9b00dbd8u);
}

TEST(Random, SameSeedSameSequence) {
  Generator a(123), b(123), c(124);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    differs |= x != c.next_u64();
  }
  EXPECT_TRUE(differs);
}

TEST(Random, UniformAndNormalMoments) {
  Generator g(9);
  const int n = 200000;
  double sum_u = 0, sum_n = 0, sum_n2 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = g.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum_u += u;
    const double z = g.normal();
    sum_n += z;
    sum_n2 += z * z;
  }
  EXPECT_NEAR(sum_u / n, 0.5, 0.005);
  EXPECT_NEAR(sum_n / n, 0.0, 0.01);
  EXPECT_NEAR(sum_n2 / n, 1.0, 0.01);
}

TEST(Random, UniformIntIsInRangeAndCoversIt) {
  Generator g(4);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 7000; ++i) ++counts.at(g.uniform_int(7));
  for (int c : counts) EXPECT_GT(c, 800);
}

}  // namespace
}  // namespace attend
