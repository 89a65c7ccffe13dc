#include "harness/op_harness.h"

#include "core/parallel_testing.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

namespace attend::testing {
namespace {

// Inputs drawn in double, rounded to float: float and double runs see the same values.
std::vector<Tensor<double>> make_inputs(const OpCase& op, uint64_t seed) {
  Generator generator(seed);
  std::vector<Tensor<double>> inputs;
  for (const InputSpec& spec : op.inputs) {
    Tensor<double> x = Tensor<double>::empty(spec.shape);
    for (int64_t i = 0; i < x.numel(); ++i) {
      double v = generator.uniform();
      switch (spec.kind) {
        case InputKind::kUniform:
          v = 2 * v - 1;
          break;
        case InputKind::kPositive:
          v = 0.5 + 1.5 * v;
          break;
        case InputKind::kAwayFromZero:
          v = (0.1 + 0.9 * v) * (generator.uniform() < 0.5 ? -1 : 1);
          break;
      }
      x.data()[i] = static_cast<double>(static_cast<float>(v));
    }
    inputs.push_back(x);
  }
  return inputs;
}

template <typename T>
std::vector<Tensor<T>> converted(const std::vector<Tensor<double>>& inputs) {
  std::vector<Tensor<T>> out;
  for (const auto& x : inputs) out.push_back(x.cast<T>());
  return out;
}

// Runs forward and backward in T with the given projection weights; returns the output and
// the gradient of every differentiable input (zeros when no gradient reached it).
template <typename T>
std::pair<Tensor<T>, std::vector<Tensor<T>>> forward_backward(const OpCase& op, std::vector<Tensor<T>> inputs,
                                                              const Tensor<double>& weights) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (op.differentiable && op.inputs[i].differentiable) inputs[i].set_requires_grad(true);
  }
  Tensor<T> out;
  if constexpr (std::is_same_v<T, float>) {
    out = op.run_float(inputs);
  } else {
    out = op.run_double(inputs);
  }
  std::vector<Tensor<T>> grads;
  if (op.differentiable && out.requires_grad()) {
    out.backward(weights.cast<T>());
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!op.inputs[i].differentiable) continue;
      const Tensor<T> g = inputs[i].grad();
      grads.push_back(g.defined() ? g : Tensor<T>::zeros(inputs[i].shape()));
    }
  }
  return {out, grads};
}

double dot(const Tensor<double>& a, const Tensor<double>& b) {
  const std::vector<double> va = as_double(a), vb = as_double(b);
  double total = 0;
  for (size_t i = 0; i < va.size(); ++i) total += va[i] * vb[i];
  return total;
}

Tensor<double> projection_weights(const Shape& shape, uint64_t seed) {
  Generator generator(seed ^ 0x9e3779b97f4a7c15ull);
  return Tensor<double>::randn(shape, generator);
}

// A strided view holding the same values as x: the last axis interleaved with garbage.
template <typename T>
Tensor<T> strided_copy(const Tensor<T>& x) {
  if (x.rank() == 0) return x.clone();
  Shape wide = x.shape();
  wide.back() = wide.back() * 2 + 1;
  Tensor<T> base = Tensor<T>::full(wide, T(1e30));
  Tensor<T> view = base.slice(-1, 1, wide.back(), 2);
  view.copy_from(x);
  return view;
}

}  // namespace

bool bitwise_equal(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    if (std::memcmp(&a[i], &b[i], sizeof(double)) != 0) return false;
  }
  return true;
}

double normalized_mse(const std::vector<double>& a, const std::vector<double>& b, bool* mismatch) {
  *mismatch = a.size() != b.size();
  double error = 0, norm = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const bool finite_a = std::isfinite(a[i]), finite_b = std::isfinite(b[i]);
    if (!finite_a || !finite_b) {
      const bool same = (std::isnan(a[i]) && std::isnan(b[i])) || a[i] == b[i];
      if (!same) *mismatch = true;
      continue;
    }
    error += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return norm > 0 ? error / norm : error;
}

CheckResult check_forward(const OpCase& op, uint64_t seed) {
  const auto inputs = make_inputs(op, seed);
  NoGradGuard no_grad;
  const Tensor<float> out32 = op.run_float(converted<float>(inputs));
  const Tensor<double> out64 = op.run_double(inputs);
  CheckResult result;
  if (out32.shape() != out64.shape()) {
    return {false, fmt::format("forward: float shape {} != double shape {}", shape_string(out32.shape()),
                               shape_string(out64.shape()))};
  }
  bool mismatch = false;
  const double nmse = normalized_mse(as_double(out32), as_double(out64), &mismatch);
  if (mismatch) return {false, "forward: NaN/Inf positions differ between float32 and float64"};
  if (!(nmse <= op.max_nmse)) {
    return {false, fmt::format("forward: NMSE float32 vs float64 = {:.3e} > threshold {:.1e}", nmse, op.max_nmse)};
  }
  return result;
}

CheckResult check_gradients(const OpCase& op, uint64_t seed) {
  if (!op.differentiable) return {};
  std::vector<Tensor<double>> inputs = make_inputs(op, seed);
  Tensor<double> probe;
  {
    NoGradGuard no_grad;
    probe = op.run_double(inputs);
  }
  const Tensor<double> weights = projection_weights(probe.shape(), seed);
  auto [out, analytic] = forward_backward<double>(op, inputs, weights);
  if (!out.requires_grad()) return {false, "gradients: the output does not require grad"};

  NoGradGuard no_grad;
  std::ostringstream failures;
  size_t grad_index = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!op.inputs[i].differentiable) continue;
    const std::vector<double> a = as_double(analytic[grad_index++]);
    Tensor<double> x = inputs[i];  // a leaf; perturbed in place
    std::vector<double> numeric(x.numel());
    double scale = 1;
    const double h = op.finite_difference_step;
    for (int64_t j = 0; j < x.numel(); ++j) {
      const double saved = x.data()[j];
      x.data()[j] = saved + h;
      const double plus = dot(op.run_double(inputs), weights);
      x.data()[j] = saved - h;
      const double minus = dot(op.run_double(inputs), weights);
      x.data()[j] = saved;
      numeric[j] = (plus - minus) / (2 * h);
      scale = std::max(scale, std::abs(numeric[j]));
    }
    double worst = 0;
    int64_t worst_at = -1;
    for (int64_t j = 0; j < x.numel(); ++j) {
      const double error = std::abs(a[j] - numeric[j]) / scale;
      if (!(error <= worst)) {
        worst = error;
        worst_at = j;
      }
    }
    if (!(worst <= op.gradient_tolerance)) {
      failures << fmt::format(
          "gradients: input {} element {}: analytic {:.9g} vs numeric {:.9g} (relative error {:.3e} > {:.1e})\n", i,
          worst_at, a[worst_at], numeric[worst_at], worst, op.gradient_tolerance);
    }
  }
  const std::string message = failures.str();
  return {message.empty(), message};
}

CheckResult check_noncontiguous(const OpCase& op, uint64_t seed) {
  const auto inputs = make_inputs(op, seed);
  std::vector<Tensor<double>> strided;
  for (const auto& x : inputs) strided.push_back(strided_copy(x));
  Tensor<double> probe;
  {
    NoGradGuard no_grad;
    probe = op.run_double(inputs);
  }
  const Tensor<double> weights = projection_weights(probe.shape(), seed);
  auto [out_c, grads_c] = forward_backward<double>(op, inputs, weights);
  auto [out_s, grads_s] = forward_backward<double>(op, strided, weights);
  bool mismatch = false;
  const double nmse = normalized_mse(as_double(out_s), as_double(out_c), &mismatch);
  if (mismatch || !(nmse <= 1e-24)) {
    return {false, fmt::format("non-contiguous: output differs from the contiguous run (NMSE {:.3e})", nmse)};
  }
  for (size_t i = 0; i < grads_c.size(); ++i) {
    const double g_nmse = normalized_mse(as_double(grads_s[i]), as_double(grads_c[i]), &mismatch);
    if (mismatch || !(g_nmse <= 1e-24)) {
      return {false,
              fmt::format("non-contiguous: gradient {} differs from the contiguous run (NMSE {:.3e})", i, g_nmse)};
    }
  }
  return {};
}

CheckResult check_thread_invariance(const OpCase& op, uint64_t seed) {
  const auto inputs = make_inputs(op, seed);
  Tensor<double> probe;
  {
    NoGradGuard no_grad;
    probe = op.run_double(inputs);
  }
  const Tensor<double> weights = projection_weights(probe.shape(), seed);
  std::vector<std::vector<double>> runs[2];
  for (int threads : {1, 2}) {
    ThreadCountGuard guard(threads);
    // Test shapes are small: without the override, parallel_for would keep them on one thread
    // and the two runs would be the same serial path. With it, every parallel_for splits.
    detail::GrainOverrideGuard split_everything(threads == 2 ? 1 : 0);
    auto [out, grads] = forward_backward<float>(op, converted<float>(inputs), weights);
    auto& run = runs[threads - 1];
    run.push_back(as_double(out));
    for (const auto& g : grads) run.push_back(as_double(g));
  }
  for (size_t k = 0; k < runs[0].size(); ++k) {
    if (!bitwise_equal(runs[0][k], runs[1][k])) {
      return {false, fmt::format("threads: {} differs bitwise between 1 and 2 threads",
                                 k == 0 ? std::string("output") : fmt::format("gradient {}", k - 1))};
    }
  }
  return {};
}

CheckResult check_op(const OpCase& op, uint64_t seed) {
  CheckResult all;
  for (auto check : {check_forward, check_gradients, check_noncontiguous, check_thread_invariance}) {
    try {
      const CheckResult r = check(op, seed);
      if (!r.ok) {
        all.ok = false;
        all.message += r.message + "\n";
      }
    } catch (const std::exception& e) {
      all.ok = false;
      all.message += fmt::format("threw: {}\n", e.what());
    }
  }
  return all;
}

}  // namespace attend::testing
