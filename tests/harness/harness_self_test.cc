// The harness must catch what it is there to catch: these tests feed it broken ops.
#include <gtest/gtest.h>

#include <limits>

#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

// exp with a backward that is off by a factor of 1.01.
template <typename T>
Tensor<T> exp_with_wrong_backward(const Tensor<T>& x) {
  Tensor<T> out;
  {
    NoGradGuard no_grad;
    out = exp(x);
  }
  return record_op<T>("bad_exp", out, {x},
                      [out](const Tensor<T>& g) { return std::vector<Tensor<T>>{mul_scalar(mul(g, out), T(1.01))}; });
}

// The sum of x as a careless parallel reduction computes it: each parallel_for chunk sums its
// part, then the partial sums are added. The chunks follow the thread count, and so do the
// float bits. The grain (4,096) is above the test's 1,000 elements, as an op's grain usually is
// above a test shape: the harness must split it anyway to see the difference.
template <typename T>
Tensor<T> thread_dependent_sum(const Tensor<T>& x) {
  Tensor<T> out;
  {
    NoGradGuard no_grad;
    const std::vector<T> values = x.to_vector();
    std::vector<T> partial(values.size(), T(0));  // partial[begin]: the sum of one chunk
    parallel_for(static_cast<int64_t>(values.size()), 4096, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) partial[begin] += values[i];
    });
    T total = 0;
    for (const T p : partial) total += p;
    out = Tensor<T>::scalar(total);
  }
  const Shape shape = x.shape();
  return record_op<T>("thread_dependent_sum", out, {x},
                      [shape](const Tensor<T>& g) { return std::vector<Tensor<T>>{mul(Tensor<T>::ones(shape), g)}; });
}

TEST(HarnessSelfTest, CatchesAThreadDependentOpOnASmallShape) {
  const auto op =
      make_case("thread_dependent_sum", {InputSpec{{1000}}}, [](const auto& x) { return thread_dependent_sum(x[0]); });
  const auto result = testing::check_thread_invariance(op, 1);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.message.find("output differs bitwise between 1 and 2 threads"), std::string::npos) << result.message;
  // A sum in one fixed order, whatever the threads, passes.
  EXPECT_TRUE(testing::check_thread_invariance(
                  make_case("sum", {InputSpec{{1000}}}, [](const auto& x) { return sum(x[0], {0}); }), 1)
                  .ok);
}

TEST(HarnessSelfTest, CatchesAWrongBackward) {
  const auto op =
      make_case("bad_exp", {InputSpec{{3, 4}}}, [](const auto& x) { return exp_with_wrong_backward(x[0]); });
  const auto result = testing::check_gradients(op, 1);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.message.find("relative error"), std::string::npos) << result.message;
  // The same op with the right backward passes.
  EXPECT_TRUE(
      testing::check_gradients(make_case("exp", {InputSpec{{3, 4}}}, [](const auto& x) { return exp(x[0]); }), 1).ok);
}

TEST(HarnessSelfTest, CatchesAForwardThatLosesPrecision) {
  // Rounding through bfloat16-like precision (8 mantissa bits) in float only.
  const auto op = make_case("lossy", {InputSpec{{50}}}, [](const auto& x) {
    using T = typename std::decay_t<decltype(x[0])>::value_type;
    if constexpr (std::is_same_v<T, float>) {
      auto y = x[0].clone();
      for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = std::round(y.data()[i] * 256) / 256;
      return y;
    } else {
      return x[0].clone();
    }
  });
  EXPECT_FALSE(testing::check_forward(op, 1).ok);
}

TEST(HarnessSelfTest, CatchesANaNMismatch) {
  const auto op = make_case("nan_in_float", {InputSpec{{4}}}, [](const auto& x) {
    using T = typename std::decay_t<decltype(x[0])>::value_type;
    auto y = x[0].clone();
    if constexpr (std::is_same_v<T, float>) y.data()[2] = std::numeric_limits<float>::quiet_NaN();
    return y;
  });
  const auto result = testing::check_forward(op, 1);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.message.find("NaN"), std::string::npos);
}

TEST(HarnessSelfTest, CatchesAStrideBug) {
  // Reads the raw buffer as if the input were contiguous: wrong on strided views.
  const auto op = make_case("ignores_strides", {InputSpec{{3, 4}}}, [](const auto& x) {
    using T = typename std::decay_t<decltype(x[0])>::value_type;
    auto y = Tensor<T>::empty(x[0].shape());
    for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = x[0].data()[i];
    return y;
  });
  EXPECT_FALSE(testing::check_noncontiguous(op, 1).ok);
}

TEST(HarnessSelfTest, NormalizedMseFigures) {
  bool mismatch = false;
  EXPECT_DOUBLE_EQ(testing::normalized_mse({1, 2}, {1, 2}, &mismatch), 0.0);
  EXPECT_DOUBLE_EQ(testing::normalized_mse({1, 3}, {1, 2}, &mismatch), 1.0 / 5.0);
  EXPECT_FALSE(mismatch);
  testing::normalized_mse({1, std::numeric_limits<double>::infinity()}, {1, 2}, &mismatch);
  EXPECT_TRUE(mismatch);
}

}  // namespace
}  // namespace attend
