#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "attend/core/parallel.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/matmul.h"
#include "attend/ops/reduction.h"
#include "harness/op_harness.h"
#include "kernels/blas_kernels.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

TEST(Matmul, Shapes) {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 4}, {4, 5}},    {{1, 1}, {1, 1}},          {{7, 17}, {17, 9}}, {{2, 3, 4}, {2, 4, 5}}, {{2, 3, 4}, {4, 5}},
      {{4, 5}, {3, 5, 2}}, {{2, 1, 3, 4}, {5, 4, 2}}, {{3, 0}, {0, 4}},   {{0, 3}, {3, 2}},       {{1, 33}, {33, 1}},
  };
  for (const auto& [a, b] : shapes) {
    auto op = make_case(fmt::format("matmul {} @ {}", shape_string(a), shape_string(b)), {InputSpec{a}, InputSpec{b}},
                        [](const auto& x) { return matmul(x[0], x[1]); });
    op.max_nmse = 1e-11;
    EXPECT_OP_OK(op);
  }
}

TEST(Matmul, TransposedViewsGoToBlasWithoutCopy) {
  // (a^T)^T @ b^T through views: same answer as the contiguous product.
  auto op = make_case("matmul of transposed views", {InputSpec{{5, 3}}, InputSpec{{4, 5}}},
                      [](const auto& x) { return matmul(x[0].transpose(0, 1), x[1].transpose(0, 1)); });
  EXPECT_OP_OK(op);
}

TEST(Matmul, KnownValues) {
  const auto a = Tensor64::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  const auto b = Tensor64::from_vector({3, 2}, {7, 8, 9, 10, 11, 12});
  EXPECT_EQ(matmul(a, b).to_vector(), (std::vector<double>{58, 64, 139, 154}));
  const auto c = matmul(Tensor32::ones({2, 3, 0}), Tensor32::ones({0, 4}));
  EXPECT_EQ(c.shape(), (Shape{2, 3, 4}));
  for (float v : c.to_vector()) EXPECT_EQ(v, 0.0f);
}

TEST(Matmul, LargeProductMatchesDoubleReference) {
  Generator generator(7);
  const auto a = Tensor64::randn({64, 300}, generator);
  const auto b = Tensor64::randn({300, 48}, generator);
  const auto ref = matmul(a, b).to_vector();
  const auto got = matmul(a.cast<float>(), b.cast<float>()).to_vector();
  bool mismatch = false;
  const double nmse = testing::normalized_mse(std::vector<double>(got.begin(), got.end()), ref, &mismatch);
  EXPECT_FALSE(mismatch);
  EXPECT_LT(nmse, 1e-12);
}

// A row of x W^T + b must not depend on which other rows are in the product, nor on the thread
// count: a sentence's embedding is the same bits in any batch (models/bert.h). The tile grid
// changes with M (row tiles of equal height, at most 512), so this crosses tile boundaries.
TEST(Linear, RowsAreTheSameBitsInAnyProductAndThreadCount) {
  Generator generator(11);
  const auto x = Tensor32::randn({1000, 96}, generator);
  const auto weight = Tensor32::randn({200, 96}, generator);
  const auto bias = Tensor32::randn({200}, generator);
  const std::vector<float> full = linear(x, weight, bias).to_vector();
  for (const auto& [begin, end] :
       std::vector<std::pair<int64_t, int64_t>>{{0, 1}, {0, 2}, {5, 8}, {0, 37}, {480, 1000}, {3, 997}}) {
    for (const int threads : {1, 2}) {
      ThreadCountGuard guard(threads);
      const std::vector<float> part = linear(x.slice(0, begin, end), weight, bias).to_vector();
      const std::vector<float> expected(full.begin() + begin * 200, full.begin() + end * 200);
      ASSERT_EQ(part.size(), expected.size());
      EXPECT_EQ(std::memcmp(part.data(), expected.data(), part.size() * sizeof(float)), 0)
          << "rows " << begin << ".." << end << ", " << threads << " threads";
    }
  }
}

// The tile grid follows the thread count (src/ops/matmul.cc): the forward product and both
// backward products (dx = g W, dW = g^T x, whose inner dimension is the row count) of a linear
// layer with an inner dimension past BLIS's k blocking must be the same bits for 1, 2 and 3
// threads, and a slice of rows the same bits as inside the whole product.
TEST(Linear, ForwardAndBackwardAreTheSameBitsForAnyThreadCount) {
  Generator generator(13);
  const auto x = Tensor32::randn({333, 1000}, generator);
  const auto weight = Tensor32::randn({130, 1000}, generator);
  const auto upstream = Tensor32::randn({333, 130}, generator);
  const auto run = [&](int threads, int64_t rows) {
    ThreadCountGuard guard(threads);
    Tensor32 input = x.slice(0, 0, rows).contiguous(), w = weight.clone();
    input.set_requires_grad();
    w.set_requires_grad();
    const Tensor32 y = linear(input, w, Tensor32());  // (rows, 130)
    sum(mul(y, upstream.slice(0, 0, rows))).backward();
    return std::vector<std::vector<float>>{y.to_vector(), input.grad().to_vector(), w.grad().to_vector()};
  };
  const auto one = run(1, 333);
  for (const int threads : {2, 3}) {
    const auto other = run(threads, 333);
    for (size_t k = 0; k < one.size(); ++k) {
      ASSERT_EQ(other[k].size(), one[k].size());
      EXPECT_EQ(std::memcmp(other[k].data(), one[k].data(), one[k].size() * sizeof(float)), 0)
          << "output " << k << " (y, dx, dW), " << threads << " threads";
    }
  }
  // BLIS's AVX2 kernels sum small products in another order (src/ops/matmul.cc): there a row's
  // bits may depend on the product's height, and only the thread count is covered above.
  if (!kernels::blas_bits_independent_of_call_shape()) GTEST_SKIP() << "rows among others: " << blas_description();
  const auto first_rows = run(2, 57);  // y and dx of the first 57 rows: the same bits as among all 333
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(std::memcmp(first_rows[k].data(), one[k].data(), first_rows[k].size() * sizeof(float)), 0) << k;
  }
}

// The same for a column: one output feature alone is the same bits as inside all of them.
TEST(Linear, AColumnIsTheSameBitsAloneAndAmongOthers) {
  Generator generator(12);
  const auto x = Tensor32::randn({300, 96}, generator);
  const auto weight = Tensor32::randn({200, 96}, generator);
  const Tensor32 full = linear(x, weight);                                        // (300, 200)
  const std::vector<float> alone = linear(x, weight.slice(0, 7, 8)).to_vector();  // (300, 1)
  const std::vector<float> among = full.slice(1, 7, 8).contiguous().to_vector();
  EXPECT_EQ(std::memcmp(alone.data(), among.data(), alone.size() * sizeof(float)), 0);
}

// BLIS 0.9 runs its AVX2 kernels on Xeons it does not know; attend asks for the AVX-512 ones where
// the CPU has them (src/kernels/blas_kernels.h), unless BLIS_ARCH_TYPE says otherwise.
TEST(Blas, RunsTheAvx512KernelsWhereTheCpuHasThem) {
  const std::string description = blas_description();
  EXPECT_NE(description.find("BLIS"), std::string::npos) << description;
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_is("intel") && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  if (description.find("BLIS_ARCH_TYPE is set") != std::string::npos || !avx512) GTEST_SKIP() << description;
  EXPECT_NE(description.find("kernels skx"), std::string::npos) << description;
  // The variable served BLIS's initialization only: the environment is the user's again, for
  // child processes and every later reader.
  EXPECT_EQ(std::getenv("BLIS_ARCH_TYPE"), nullptr);
}

}  // namespace
}  // namespace attend
