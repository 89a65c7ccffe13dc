// kernels/tile_products.h, the register-blocked products of the fused forward, against double
// loops: every row count of a 6-row block and past it, column counts that cut a key panel, inner
// sizes not multiples of anything, leading dimensions wider than the rows, a first key panel
// past the start, and sentinels around every output (nothing written outside its rows and
// columns). Error bound: float32 rounding of a sum of `inner` products, |a||b| summed.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "attend/core/random.h"
#include "kernels/tile_products.h"
#include "harness/simd_targets.h"

namespace attend {
namespace {

constexpr float kSentinel = 12345.0f;

std::vector<float> random_values(int64_t n, Generator& generator) {
  std::vector<float> values(static_cast<size_t>(n));
  for (auto& v : values) v = static_cast<float>(generator.normal());
  return values;
}

TEST(TileProducts, ScoresFromPackedKeysMatchDouble) {
  testing::for_each_simd_target([&] {
    Generator generator(31);
    const int64_t width = kernels::panel_width();
    ASSERT_GT(width, 0);
    for (int64_t rows : {1, 5, 6, 7, 12, 13}) {
      for (int64_t d : {1, 7, 64, 65}) {
        for (int64_t cols : {int64_t{1}, width - 1, width, width + 1, 3 * width + 5}) {
          const int64_t j0 = width;  // the second panel
          const int64_t keys = j0 + cols + 3;
          const int64_t ldq = d + 2, ldk = d + 1, lds = cols + 4;
          const auto q = random_values(rows * ldq, generator);
          const auto k = random_values(keys * ldk, generator);
          std::vector<float> packed(static_cast<size_t>(kernels::packed_panels_size(keys, d)));
          kernels::pack_panels(k.data(), ldk, keys, d, packed.data());
          std::vector<float> s(static_cast<size_t>(rows * lds), kSentinel);
          kernels::times_packed_transposed(q.data(), ldq, rows, packed.data(), j0, cols, d, s.data(), lds);
          for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < lds; ++c) {
              if (c >= cols) {
                ASSERT_EQ(s[r * lds + c], kSentinel) << "wrote past cols: r " << r << " c " << c;
                continue;
              }
              double exact = 0, magnitude = 0;
              for (int64_t e = 0; e < d; ++e) {
                exact += static_cast<double>(q[r * ldq + e]) * k[(j0 + c) * ldk + e];
                magnitude += std::abs(static_cast<double>(q[r * ldq + e]) * k[(j0 + c) * ldk + e]);
              }
              ASSERT_NEAR(s[r * lds + c], exact, 1.2e-7 * d * magnitude + 1e-30)
                  << "rows " << rows << " d " << d << " cols " << cols << " r " << r << " c " << c;
            }
          }
        }
      }
    }
  });
}

TEST(TileProducts, ProbabilitiesTimesValuesAccumulateMatchDouble) {
  testing::for_each_simd_target([&] {
    Generator generator(32);
    const int64_t width = kernels::panel_width();
    for (int64_t rows : {1, 4, 6, 11}) {
      for (int64_t keys : {0, 1, 9, 256}) {
        for (int64_t dv : {int64_t{1}, int64_t{7}, width, width + 3, int64_t{64}, int64_t{65}}) {
          const int64_t ldp = keys + 1, ldv = dv + 2, ldo = dv + 5;
          const auto p = random_values(rows * ldp, generator);
          const auto v = random_values(std::max<int64_t>(keys, 1) * ldv, generator);
          std::vector<float> o(static_cast<size_t>(rows * ldo), kSentinel);
          const auto start = random_values(rows * ldo, generator);
          for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < dv; ++c) o[r * ldo + c] = start[r * ldo + c];
          }
          kernels::accumulate_product(p.data(), ldp, 1, rows, keys, v.data(), ldv, dv, o.data(), ldo);
          for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < ldo; ++c) {
              if (c >= dv) {
                ASSERT_EQ(o[r * ldo + c], kSentinel) << "wrote past dv: r " << r << " c " << c;
                continue;
              }
              double exact = start[r * ldo + c], magnitude = std::abs(exact);
              for (int64_t j = 0; j < keys; ++j) {
                exact += static_cast<double>(p[r * ldp + j]) * v[j * ldv + c];
                magnitude += std::abs(static_cast<double>(p[r * ldp + j]) * v[j * ldv + c]);
              }
              ASSERT_NEAR(o[r * ldo + c], exact, 1.2e-7 * (keys + 1) * magnitude + 1e-30)
                  << "rows " << rows << " keys " << keys << " dv " << dv << " r " << r << " c " << c;
            }
          }
        }
      }
    }
  });
}

TEST(TileProducts, TransposedOperandThroughItsStrides) {
  testing::for_each_simd_target([&] {
    // c (rows, n) += A^T B with A stored (inner, rows) row-major: A^T(r, j) = a[j lda + r], the
    // backward's dV += P^T dO and dK += dS^T Q.
    Generator generator(33);
    for (int64_t rows : {1, 6, 7, 20}) {
      for (int64_t inner : {1, 5, 128}) {
        const int64_t n = 2 * kernels::panel_width() + 3, lda = rows + 2, ldb = n + 1, ldc = n + 3;
        const auto a = random_values(inner * lda, generator);
        const auto b = random_values(inner * ldb, generator);
        std::vector<float> c(static_cast<size_t>(rows * ldc), kSentinel);
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t col = 0; col < n; ++col) c[r * ldc + col] = 0.5f;
        }
        kernels::accumulate_product(a.data(), 1, lda, rows, inner, b.data(), ldb, n, c.data(), ldc);
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t col = 0; col < ldc; ++col) {
            if (col >= n) {
              ASSERT_EQ(c[r * ldc + col], kSentinel);
              continue;
            }
            double exact = 0.5, magnitude = 0.5;
            for (int64_t j = 0; j < inner; ++j) {
              exact += static_cast<double>(a[j * lda + r]) * b[j * ldb + col];
              magnitude += std::abs(static_cast<double>(a[j * lda + r]) * b[j * ldb + col]);
            }
            ASSERT_NEAR(c[r * ldc + col], exact, 1.2e-7 * (inner + 1) * magnitude)
                << "rows " << rows << " inner " << inner << " r " << r << " col " << col;
          }
        }
      }
    }
  });
}

// Every packed value is its key's element (or 0 past the last key), for key counts that fill, cut
// and overflow a panel, head sizes below, at and past the 16 x 16 transposes of AVX-512 (37: two
// blocks, then five columns by gathers), row strides wider than a row, and a row stride too wide
// for the 32-bit gather indices (the scalar loop; one key, so that only row 0 is read).
TEST(TileProducts, PackedPanelsHoldEveryKeyElement) {
  testing::for_each_simd_target([&] {
    Generator generator(37);
    const int64_t width = kernels::panel_width();
    for (const int64_t keys : {int64_t{1}, width - 1, width, width + 1, 2 * width + 3}) {
      for (const int64_t d : {1, 5, 16, 32, 37, 64}) {
        for (const int64_t ldk : {d, d + 3, 3 * 12 * d}) {
          const auto k = random_values(keys * ldk, generator);
          std::vector<float> packed(static_cast<size_t>(kernels::packed_panels_size(keys, d)), kSentinel);
          kernels::pack_panels(k.data(), ldk, keys, d, packed.data());
          for (int64_t j = 0; j < static_cast<int64_t>(packed.size()) / d; ++j) {  // padded key j
            for (int64_t e = 0; e < d; ++e) {
              const float expected = j < keys ? k[j * ldk + e] : 0.0f;
              ASSERT_EQ(packed[(j / width * d + e) * width + j % width], expected)
                  << "keys " << keys << " d " << d << " ldk " << ldk << " key " << j << " e " << e;
            }
          }
        }
      }
    }
    const std::vector<float> one_key = {1, 2, 3};
    std::vector<float> packed(static_cast<size_t>(kernels::packed_panels_size(1, 3)), kSentinel);
    kernels::pack_panels(one_key.data(), int64_t{1} << 28, 1, 3, packed.data());
    for (int64_t e = 0; e < 3; ++e) {
      EXPECT_EQ(packed[e * width], one_key[e]);
      for (int64_t w = 1; w < width; ++w) EXPECT_EQ(packed[e * width + w], 0.0f);
    }
  });
}

TEST(TileProducts, PackedKeysPadTheLastPanelWithZeros) {
  testing::for_each_simd_target([&] {
    const int64_t width = kernels::panel_width();
    const int64_t keys = width + 1, d = 3;
    std::vector<float> k(static_cast<size_t>(keys * d), 1.0f);
    std::vector<float> packed(static_cast<size_t>(kernels::packed_panels_size(keys, d)), kSentinel);
    ASSERT_EQ(static_cast<int64_t>(packed.size()), 2 * width * d);
    kernels::pack_panels(k.data(), d, keys, d, packed.data());
    for (int64_t e = 0; e < d; ++e) {
      EXPECT_EQ(packed[(width * d) + e * width + 0], 1.0f);  // key `width`, the second panel's first
      for (int64_t w = 1; w < width; ++w) EXPECT_EQ(packed[(width * d) + e * width + w], 0.0f);
    }
  });
}

}  // namespace
}  // namespace attend
