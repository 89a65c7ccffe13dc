#include "harness/fused_attention_check.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "harness/simd_targets.h"

namespace attend::testing {
namespace {

// One compared result of a run: the output, the weights, ..., dq, dk, ...
struct Quantity {
  std::string name;
  Shape shape;
  std::vector<double> values;
  bool gradient = false;
};

template <typename T>
Quantity quantity(std::string name, const Tensor<T>& t, bool gradient) {
  return {std::move(name), t.shape(), as_double(t), gradient};
}

// x rounded to float32, in T; a leaf of the tape when the case has a backward.
template <typename T>
Tensor<T> leaf(const Tensor64& x, bool requires_grad) {
  Tensor<T> t;
  if constexpr (std::is_same_v<T, float>) {
    t = x.cast<float>();
  } else {
    t = x.cast<float>().template cast<double>();
  }
  if (requires_grad) t.set_requires_grad();
  return t;
}

template <typename T>
AttentionOptions<T> options_for(const FusedAttentionCase& c, AttentionImplementation implementation) {
  AttentionOptions<T> o;
  if constexpr (std::is_same_v<T, float>) {
    o = c.options;
  } else {
    o = options_in_double(c.options);
  }
  o.implementation = implementation;
  return o;
}

// Runs the case in T on `implementation`: output, weights and log-sum-exp when asked for, then
// the gradients of q, k, v and the additive mask when the case has an output gradient.
template <typename T>
std::vector<Quantity> run(const FusedAttentionCase& c, AttentionImplementation implementation) {
  AttentionOptions<T> o = options_for<T>(c, implementation);
  const bool backward = c.output_gradient.defined();
  const Tensor<T> q = leaf<T>(c.query, backward), k = leaf<T>(c.key, backward), v = leaf<T>(c.value, backward);
  o.additive_mask = c.additive_mask.defined() ? leaf<T>(c.additive_mask, backward) : Tensor<T>();
  const AttentionResult<T> r = scaled_dot_product_attention(q, k, v, o);
  std::vector<Quantity> out = {quantity("output", r.output, false)};
  if (o.need_weights) out.push_back(quantity("weights", r.weights, false));
  if (o.need_log_sum_exp) out.push_back(quantity("log_sum_exp", r.log_sum_exp, false));
  if (!backward) return out;
  r.output.backward(leaf<T>(c.output_gradient, false));
  const std::pair<const char*, Tensor<T>> inputs[] = {{"dq", q}, {"dk", k}, {"dv", v}, {"d_additive", o.additive_mask}};
  for (const auto& [name, x] : inputs) {
    if (x.defined()) out.push_back(quantity(name, x.grad().defined() ? x.grad() : Tensor<T>::zeros(x.shape()), true));
  }
  return out;
}

// How far `got` is from `exact`: RMS and worst element over the elements finite in both, and the
// first element that is NaN or infinite in one and not the same in the other (-1: none).
struct Deviation {
  double rms = 0, worst = 0;
  int64_t worst_at = 0, pattern_at = -1;
};

Deviation deviation(const std::vector<double>& got, const std::vector<double>& exact) {
  Deviation d;
  double sum = 0;
  for (size_t i = 0; i < exact.size(); ++i) {
    if (!std::isfinite(got[i]) || !std::isfinite(exact[i])) {
      const bool same = (std::isnan(got[i]) && std::isnan(exact[i])) || got[i] == exact[i];
      if (!same && d.pattern_at < 0) d.pattern_at = static_cast<int64_t>(i);
      continue;
    }
    const double error = std::abs(got[i] - exact[i]);
    sum += error * error;
    if (error > d.worst) {
      d.worst = error;
      d.worst_at = static_cast<int64_t>(i);
    }
  }
  d.rms = exact.empty() ? 0 : std::sqrt(sum / exact.size());
  return d;
}

double rms(const std::vector<double>& x) { return deviation(x, std::vector<double>(x.size(), 0.0)).rms; }

double max_abs(const std::vector<double>& x) {
  double m = 0;
  for (double v : x) m = std::isfinite(v) ? std::max(m, std::abs(v)) : m;
  return m;
}

// The scale of the RMS floor (see the header), for quantity i of the float64 run.
double floor_scale(const FusedAttentionCase& c, const std::vector<Quantity>& exact, size_t i) {
  if (!exact[i].gradient) return std::max(1.0, rms(exact[i].values));
  const double value_dim = static_cast<double>(c.value.size(-1));
  double scale = rms(as_double(c.output_gradient)) * rms(as_double(c.value)) * std::sqrt(value_dim);
  for (const Quantity& q : exact) scale = q.gradient ? std::max(scale, rms(q.values)) : scale;
  return scale;
}

// "[0, 1, 17, 3]": the multi-index of flat element `at` of `shape`.
std::string index_string(const Shape& shape, int64_t at) {
  std::vector<int64_t> index(shape.size());
  for (size_t axis = shape.size(); axis-- > 0;) {
    index[axis] = shape[axis] > 0 ? at % shape[axis] : 0;
    at = shape[axis] > 0 ? at / shape[axis] : 0;
  }
  return fmt::format("[{}]", fmt::join(index, ", "));
}

// "" when `fused` passes (1)-(3) against `exact`, else what failed, with the figures.
std::string compare(const Quantity& fused, const Quantity& exact, const Deviation& naive, double scale) {
  const FusedTolerance& t = exact.gradient ? kFusedGradientTolerance : kFusedForwardTolerance;
  if (fused.shape != exact.shape) {
    return fmt::format("{}: shape {} but float64 {}", exact.name, shape_string(fused.shape), shape_string(exact.shape));
  }
  const Deviation d = deviation(fused.values, exact.values);
  if (d.pattern_at >= 0) {
    return fmt::format("{}{}: fused {} where float64 is {}", exact.name, index_string(exact.shape, d.pattern_at),
                       fused.values[d.pattern_at], exact.values[d.pattern_at]);
  }
  const double rms_bound = t.naive_ratio * naive.rms + t.rms_floor * scale;
  const double worst_bound = t.max_error * std::max(1.0, max_abs(exact.values));
  if (d.rms <= rms_bound && d.worst <= worst_bound) return "";
  return fmt::format(
      "{}: RMS error {:.3e} (bound {:.3e} = {} x naive float32 {:.3e} + {:.0e} x {:.3g}); worst at {}: fused {:.9g} vs "
      "float64 {:.9g}, error {:.3e} (bound {:.3e})",
      exact.name, d.rms, rms_bound, t.naive_ratio, naive.rms, t.rms_floor, scale, index_string(exact.shape, d.worst_at),
      fused.values[d.worst_at], exact.values[d.worst_at], d.worst, worst_bound);
}

std::string heading(const FusedAttentionCase& c, const char* target) {
  return fmt::format("{} ({}) on {}", c.name, describe(c), target);
}

}  // namespace

CheckResult check_fused_attention(const FusedAttentionCase& c) {
  std::vector<Quantity> exact, naive;
  try {
    exact = run<double>(c, AttentionImplementation::kReference);
    naive = run<float>(c, AttentionImplementation::kReference);
  } catch (const std::exception& e) {
    return {false, fmt::format("{} ({}): the reference path threw: {}", c.name, describe(c), e.what())};
  }
  std::vector<Deviation> naive_errors;
  std::vector<double> scales;
  for (size_t i = 0; i < exact.size(); ++i) {
    naive_errors.push_back(deviation(naive[i].values, exact[i].values));
    scales.push_back(floor_scale(c, exact, i));
  }
  std::string failures;
  for_each_simd_target_named([&](const char* target) {
    try {
      const std::vector<Quantity> fused = run<float>(c, AttentionImplementation::kFused);
      for (size_t i = 0; i < exact.size(); ++i) {
        const std::string failure = compare(fused[i], exact[i], naive_errors[i], scales[i]);
        if (!failure.empty()) failures += heading(c, target) + ": " + failure + "\n";
      }
    } catch (const std::exception& e) {
      failures += heading(c, target) + ": threw: " + e.what() + "\n";
    }
  });
  return {failures.empty(), failures};
}

CheckResult check_fused_thread_invariance(const FusedAttentionCase& c) {
  std::string failures;
  for_each_simd_target_named([&](const char* target) {
    try {
      std::vector<Quantity> runs[2];
      for (int threads : {1, 2}) {
        ThreadCountGuard guard(threads);
        runs[threads - 1] = run<float>(c, AttentionImplementation::kFused);
      }
      for (size_t i = 0; i < runs[0].size(); ++i) {
        if (bitwise_equal(runs[0][i].values, runs[1][i].values)) continue;
        failures += heading(c, target) + ": " + runs[0][i].name + " differs bitwise between 1 and 2 threads\n";
      }
    } catch (const std::exception& e) {
      failures += heading(c, target) + ": threw: " + e.what() + "\n";
    }
  });
  return {failures.empty(), failures};
}

AttentionOptions<double> options_in_double(const AttentionOptions<float>& o) {
  AttentionOptions<double> d;
  d.scale = o.scale;
  d.mask = o.mask;
  if (o.additive_mask.defined()) d.additive_mask = o.additive_mask.cast<double>();
  d.key_padding_mask = o.key_padding_mask;
  d.causal = o.causal;
  d.alignment = o.alignment;
  d.window_left = o.window_left;
  d.window_right = o.window_right;
  if (o.alibi_slopes.defined()) d.alibi_slopes = o.alibi_slopes.cast<double>();
  d.softcap = o.softcap;
  d.dropout_p = o.dropout_p;
  d.dropout_seed = o.dropout_seed;
  d.need_weights = o.need_weights;
  d.need_log_sum_exp = o.need_log_sum_exp;
  return d;
}

std::string describe(const FusedAttentionCase& c) {
  const AttentionOptions<float>& o = c.options;
  std::string s = fmt::format("B={} H={} H_kv={} N={} M={} D={} D_v={}", c.query.size(0), c.query.size(1),
                              c.key.size(1), c.query.size(2), c.key.size(2), c.query.size(3), c.value.size(3));
  if (o.causal) s += " causal";
  if (o.alignment == CausalAlignment::kBottomRight) s += " bottom-right";
  if (o.window_left) s += fmt::format(" window_left={}", *o.window_left);
  if (o.window_right) s += fmt::format(" window_right={}", *o.window_right);
  if (o.mask.defined()) s += " mask " + shape_string(o.mask.shape());
  if (c.additive_mask.defined()) s += " additive " + shape_string(c.additive_mask.shape());
  if (o.key_padding_mask.defined()) s += " key_padding";
  if (o.alibi_slopes.defined()) s += " alibi";
  if (o.softcap > 0) s += fmt::format(" softcap={}", o.softcap);
  if (o.scale) s += fmt::format(" scale={}", *o.scale);
  if (o.dropout_p > 0) s += fmt::format(" dropout={} seed={}", o.dropout_p, o.dropout_seed);
  if (o.need_weights) s += " need_weights";
  if (o.need_log_sum_exp) s += " need_log_sum_exp";
  if (c.output_gradient.defined()) s += " backward";
  return s;
}

}  // namespace attend::testing
