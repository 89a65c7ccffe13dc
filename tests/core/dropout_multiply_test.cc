// kernels::dropout_multiply, the vectorized inverted dropout, against the scalar rule it must
// equal bit for bit: out = in * (dropout_keeps(draw, p) ? scale : 0) with the draws of
// philox_draws. Lengths that are not multiples of the vector or of the kernel's batch, draws
// with the top bit set, probabilities exactly on the 2^-24 grid, NaN inputs, in place.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "attend/core/random.h"
#include "kernels/dropout.h"
#include "kernels/philox.h"
#include "harness/simd_targets.h"

namespace attend {
namespace {

std::vector<float> scalar_dropout(uint64_t key, uint64_t first, const std::vector<float>& in, double p, float scale) {
  std::vector<uint32_t> draws(in.size());
  kernels::philox_draws(key, 1, first, static_cast<int64_t>(in.size()), draws.data());
  std::vector<float> out(in.size());
  for (size_t e = 0; e < in.size(); ++e) out[e] = in[e] * (kernels::dropout_keeps(draws[e], p) ? scale : 0.0f);
  return out;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(DropoutMultiply, KeepThresholdIsTheFloatRuleForEveryTop24Value) {
  testing::for_each_simd_target([&] {
    // p on the 2^-24 grid (where >= and > differ), just off it, and ordinary values.
    const double ps[] = {0.0, 0x1p-24, 0.5, 0.5 + 0x1p-24, 0.5 - 0x1p-25, 0.1, 0.3, 1 - 0x1p-24, 0.999999};
    for (double p : ps) {
      const uint32_t threshold = kernels::dropout_keep_threshold(p);
      for (uint32_t top = 0; top < (1u << 24); top += 4093) {
        for (uint32_t near : {top, threshold - 1, threshold, threshold + 1}) {
          if (near >= (1u << 24)) continue;
          const uint32_t draw = (near << 8) | 0xA5u;
          ASSERT_EQ(kernels::dropout_keeps(draw, p), (draw >> 8) >= threshold) << "p " << p << " draw " << draw;
        }
      }
    }
  });
}

TEST(DropoutMultiply, EqualsTheScalarRuleBitForBit) {
  testing::for_each_simd_target([&] {
    Generator generator(5);
    for (int64_t n : {0, 1, 7, 8, 9, 31, 1023, 1024, 1025, 3000}) {
      for (uint64_t first : {0ull, 3ull, 1ull << 40}) {
        for (double p : {0.1, 0.5, 0.9}) {
          std::vector<float> in(static_cast<size_t>(n));
          for (auto& v : in) v = static_cast<float>(generator.normal());
          if (n > 5) in[5] = std::numeric_limits<float>::quiet_NaN();
          if (n > 6) in[6] = -std::numeric_limits<float>::infinity();
          const float scale = static_cast<float>(1 / (1 - p));
          const std::vector<float> expected = scalar_dropout(77, first, in, p, scale);
          std::vector<float> out(in.size() + 1, 12345.0f);  // + 1: a sentinel
          std::vector<uint8_t> keep(in.size());
          kernels::dropout_multiply(77, 1, first, n, p, scale, in.data(), out.data(), keep.data());
          for (int64_t e = 0; e < n; ++e) {
            ASSERT_TRUE(same_bits(out[e], expected[e])) << "n " << n << " first " << first << " p " << p << " e " << e;
          }
          ASSERT_EQ(out[n], 12345.0f) << "wrote past the end, n " << n;
          if (n > 6) {
            EXPECT_TRUE(std::isnan(out[5])) << "a NaN input stays NaN, kept or dropped";
            EXPECT_TRUE(std::isinf(out[6]) || std::isnan(out[6])) << "-inf gives -inf kept, NaN dropped";
          }
          std::vector<float> in_place = in;  // in and out the same array
          kernels::dropout_multiply(77, 1, first, n, p, scale, in_place.data(), in_place.data(), keep.data());
          for (int64_t e = 0; e < n; ++e) ASSERT_TRUE(same_bits(in_place[e], expected[e])) << "in place, e " << e;
        }
      }
    }
  });
}

TEST(DropoutMultiply, RecordedMaskReappliesTheSameDrops) {
  testing::for_each_simd_target([&] {
    Generator generator(6);
    for (int64_t n : {1, 8, 13, 1024, 2050}) {
      std::vector<float> in(static_cast<size_t>(n)), out(in.size());
      for (auto& v : in) v = static_cast<float>(generator.normal());
      std::vector<uint8_t> keep(in.size() + 1, 7);  // + 1: a sentinel
      kernels::dropout_multiply(21, 1, 5, n, 0.4, 1.5f, in.data(), out.data(), keep.data());
      std::vector<uint32_t> draws(in.size());
      kernels::philox_draws(21, 1, 5, n, draws.data());
      for (int64_t e = 0; e < n; ++e) {
        ASSERT_EQ(keep[e], kernels::dropout_keeps(draws[e], 0.4) ? 1 : 0) << "n " << n << " e " << e;
      }
      ASSERT_EQ(keep[n], 7) << "wrote past the end of the mask";
      std::vector<float> again(in.size() + 1, -3.0f);
      kernels::multiply_by_keep_bytes(keep.data(), n, 1.5f, in.data(), again.data());
      for (int64_t e = 0; e < n; ++e) ASSERT_TRUE(same_bits(again[e], out[e])) << "n " << n << " e " << e;
      ASSERT_EQ(again[n], -3.0f) << "wrote past the end";
    }
  });
}

TEST(DropoutMultiply, DropsAboutP) {
  testing::for_each_simd_target([&] {
    const int64_t n = 200'000;
    std::vector<float> ones(n, 1.0f), out(n);
    std::vector<uint8_t> keep(n);
    kernels::dropout_multiply(9, 1, 0, n, 0.3, 2.0f, ones.data(), out.data(), keep.data());
    int64_t kept = 0;
    for (float v : out) {
      ASSERT_TRUE(v == 0.0f || v == 2.0f);
      kept += v != 0.0f;
    }
    EXPECT_NEAR(static_cast<double>(kept) / n, 0.7, 0.005);
  });
}

}  // namespace
}  // namespace attend
