// One harness for every op (after ggml's test-backend-ops). An op case declares its inputs and
// computes its output from them, once, as a generic lambda that runs in float and in double.
// The harness then
//   (a) compares float32 against float64 by normalized mean squared error under a per-case
//       threshold; a NaN or infinity in one and not in the other fails;
//   (b) checks the gradient of every differentiable input by central finite differences in
//       float64, against the tape's backward of a random projection of the output;
//   (c) runs the op on non-contiguous (strided) views of its inputs and compares values and
//       gradients with the contiguous run;
//   (d) runs forward and backward with 1 and with 2 threads and requires bitwise equality; the
//       2-thread run forces every parallel_for to split (core/parallel_testing.h), since test
//       shapes are below the grains that would otherwise keep them on one thread;
//   (e) for the fused attention kernels, which have no float64 instantiation: compares them on
//       every SIMD target with the float64 reference path (harness/fused_attention_check.h).
// Edge sizes (1, odd, non-multiples of the SIMD width, zero) are cases of their own.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "attend/attend.h"

namespace attend::testing {

enum class InputKind {
  kUniform,       // U[-1, 1)
  kPositive,      // U[0.5, 2): for log, sqrt, divisors
  kAwayFromZero,  // +-U[0.1, 1): for ops with a kink at 0 (relu)
};

struct InputSpec {
  Shape shape;
  InputKind kind = InputKind::kUniform;
  bool differentiable = true;
};

struct OpCase {
  std::string name;
  std::vector<InputSpec> inputs;
  std::function<Tensor<float>(const std::vector<Tensor<float>>&)> run_float;
  std::function<Tensor<double>(const std::vector<Tensor<double>>&)> run_double;
  double max_nmse = 1e-10;           // float32 vs float64
  double gradient_tolerance = 1e-6;  // |analytic - numeric| / max(1, max |numeric|)
  double finite_difference_step = 1e-6;
  bool differentiable = true;
};

// Builds a case from one generic lambda `f(const std::vector<Tensor<T>>&) -> Tensor<T>`.
template <typename F>
OpCase make_case(std::string name, std::vector<InputSpec> inputs, F f) {
  OpCase c;
  c.name = std::move(name);
  c.inputs = std::move(inputs);
  c.run_float = [f](const std::vector<Tensor<float>>& x) { return f(x); };
  c.run_double = [f](const std::vector<Tensor<double>>& x) { return f(x); };
  return c;
}

struct CheckResult {
  bool ok = true;
  std::string message;  // what failed, with figures
};

// Every element of t, row-major, as double.
template <typename T>
std::vector<double> as_double(const Tensor<T>& t) {
  std::vector<double> out;
  for (T v : t.to_vector()) out.push_back(static_cast<double>(v));
  return out;
}

// Normalized mean squared error sum((a - b)^2) / sum(b^2) over finite entries (absolute when b
// is all zero); sets `mismatch` when NaN/Inf positions differ.
double normalized_mse(const std::vector<double>& a, const std::vector<double>& b, bool* mismatch);
// Bitwise equality of every element (NaNs of any payload equal).
bool bitwise_equal(const std::vector<double>& a, const std::vector<double>& b);

CheckResult check_forward(const OpCase& op, uint64_t seed);
CheckResult check_gradients(const OpCase& op, uint64_t seed);
CheckResult check_noncontiguous(const OpCase& op, uint64_t seed);
CheckResult check_thread_invariance(const OpCase& op, uint64_t seed);
// All four checks.
CheckResult check_op(const OpCase& op, uint64_t seed = 1);

}  // namespace attend::testing

// gtest helper: EXPECT_OP_OK(op_case) reports every failed check with its figures.
#define EXPECT_OP_OK(op_case)                                              \
  do {                                                                     \
    const auto _result = ::attend::testing::check_op(op_case);             \
    EXPECT_TRUE(_result.ok) << (op_case).name << ":\n" << _result.message; \
  } while (0)
