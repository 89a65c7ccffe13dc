// kernels::adam_update, the vectorized float Adam/AdamW step, against the same update written
// out in scalar double arithmetic: bit for bit, for lengths that are not multiples of the vector,
// with and without (coupled or decoupled) weight decay. optimizer_test.cc checks the update
// itself against a float64 hand computation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "attend/core/random.h"
#include "kernels/adam_update.h"
#include "harness/simd_targets.h"

namespace attend {
namespace {

void expected_update(const kernels::AdamConstants& c, float& p_out, float g_in, float& m_out, float& v_out) {
  double p = p_out, g = g_in;
  if (c.weight_decay != 0) {
    if (c.decoupled) {
      p *= c.decay_factor;
    } else {
      g += c.weight_decay * p;
    }
  }
  const double m = c.beta1 * m_out + (1 - c.beta1) * g;
  const double v = c.beta2 * v_out + (1 - c.beta2) * g * g;
  m_out = static_cast<float>(m);
  v_out = static_cast<float>(v);
  p -= c.step_size * m / (std::sqrt(v) / c.bias_correction2_sqrt + c.eps);
  p_out = static_cast<float>(p);
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(AdamUpdate, EqualsTheScalarDoubleUpdateBitForBit) {
  testing::for_each_simd_target([&] {
    Generator generator(11);
    for (int64_t n : {0, 1, 3, 4, 5, 17, 1000}) {
      for (double weight_decay : {0.0, 0.05}) {
        for (bool decoupled : {false, true}) {
          kernels::AdamConstants c;
          c.step_size = 1e-3 / (1 - std::pow(0.9, 3.0));
          c.bias_correction2_sqrt = std::sqrt(1 - std::pow(0.999, 3.0));
          c.weight_decay = weight_decay;
          c.decay_factor = 1 - 1e-3 * weight_decay;
          c.decoupled = decoupled;
          std::vector<float> p(n + 1), g(n), m(n), v(n);
          for (int64_t e = 0; e < n; ++e) {
            p[e] = static_cast<float>(generator.normal());
            g[e] = static_cast<float>(generator.normal() * 1e-2);
            m[e] = static_cast<float>(generator.normal() * 1e-3);
            v[e] = static_cast<float>(std::abs(generator.normal()) * 1e-5);
          }
          p[n] = 777.0f;  // a sentinel
          std::vector<float> p2 = p, m2 = m, v2 = v;
          kernels::adam_update(c, p.data(), g.data(), m.data(), v.data(), n);
          for (int64_t e = 0; e < n; ++e) {
            expected_update(c, p2[e], g[e], m2[e], v2[e]);
            ASSERT_TRUE(same_bits(p[e], p2[e]) && same_bits(m[e], m2[e]) && same_bits(v[e], v2[e]))
                << "n " << n << " decay " << weight_decay << " decoupled " << decoupled << " e " << e;
          }
          ASSERT_EQ(p[n], 777.0f) << "wrote past the end";
        }
      }
    }
  });
}

TEST(AdamUpdate, NanGradientGivesNanParameter) {
  testing::for_each_simd_target([&] {
    kernels::AdamConstants c;
    c.step_size = 1e-3;
    std::vector<float> p(9, 1.0f), g(9, 0.5f), m(9, 0.0f), v(9, 0.0f);
    g[2] = std::nanf("");
    g[8] = std::nanf("");  // in the scalar tail
    kernels::adam_update(c, p.data(), g.data(), m.data(), v.data(), 9);
    EXPECT_TRUE(std::isnan(p[2]) && std::isnan(p[8]));
    EXPECT_FALSE(std::isnan(p[0]));
    EXPECT_LT(p[0], 1.0f);
  });
}

}  // namespace
}  // namespace attend
