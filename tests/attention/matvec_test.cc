// kernels::matvec_rows, the decoder's weight-streaming product, on every SIMD target: against a
// float64 reference, and the same bits for a row whatever the batch around it, the rows computed
// beside it and the thread count (odd sizes: rows that do not fill a group of four, a tail of
// the inner dimension past the last full vector, misaligned starts).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "attend/core/parallel.h"
#include "attend/core/random.h"
#include "harness/simd_targets.h"
#include "kernels/matvec.h"

namespace attend {
namespace {

std::vector<float> random_values(int64_t n, Generator& generator) {
  std::vector<float> values(static_cast<size_t>(n));
  for (float& v : values) v = static_cast<float>(generator.uniform() * 2 - 1);
  return values;
}

TEST(Matvec, MatchesFloat64AndKeepsItsBitsAcrossBatchesRowsAndThreads) {
  Generator generator(11);
  for (const auto& [out, in] :
       std::vector<std::pair<int64_t, int64_t>>{{37, 67}, {5, 16}, {1, 1}, {130, 576}, {4, 0}}) {
    SCOPED_TRACE(::testing::Message() << out << " x " << in);
    const std::vector<float> w = random_values(out * in + 1, generator);  // +1: W starts misaligned
    const std::vector<float> x = random_values(5 * in + 1, generator);
    attend::testing::for_each_simd_target([&] {
      std::vector<float> y(5 * out), alone(out), two_threads(5 * out);
      {
        ThreadCountGuard guard(1);
        kernels::matvec_rows(w.data() + 1, out, in, x.data() + 1, 5, y.data());
      }
      {
        ThreadCountGuard guard(2);
        kernels::matvec_rows(w.data() + 1, out, in, x.data() + 1, 5, two_threads.data());
      }
      EXPECT_EQ(y, two_threads);
      for (int64_t b = 0; b < 5; ++b) {
        kernels::matvec_rows(w.data() + 1, out, in, x.data() + 1 + b * in, 1, alone.data());
        EXPECT_EQ(std::vector<float>(y.begin() + b * out, y.begin() + (b + 1) * out), alone) << "row " << b;
        for (int64_t o = 0; o < out; ++o) {
          double reference = 0, magnitude = 0;
          for (int64_t i = 0; i < in; ++i) {
            reference += static_cast<double>(w[1 + o * in + i]) * x[1 + b * in + i];
            magnitude += std::abs(static_cast<double>(w[1 + o * in + i]) * x[1 + b * in + i]);
          }
          EXPECT_NEAR(y[b * out + o], reference, 1e-6 * (magnitude + 1)) << b << ", " << o;
        }
      }
      if (out > 4) {  // the last rows alone, outside their group of four
        std::vector<float> tail(1);
        kernels::matvec_rows(w.data() + 1 + (out - 1) * in, 1, in, x.data() + 1, 1, tail.data());
        EXPECT_EQ(tail[0], y[out - 1]);
      }
    });
  }
}

}  // namespace
}  // namespace attend
