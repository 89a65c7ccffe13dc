// Finite-difference check of every parameter of a module (float64), for modules whose
// parameters are not op inputs the harness could perturb.
#pragma once

#include <cmath>
#include <functional>
#include <string>

#include <fmt/format.h>

#include "attend/attend.h"

namespace attend::testing {

// `loss` runs the module forward and returns a scalar. Checks d loss / d parameter for every
// element of every parameter (at most `max_elements` per parameter, spread evenly) against
// central differences; returns "" when all agree within `tolerance` (relative to
// max(1, |numeric|)), else a description of the worst mismatch.
inline std::string check_parameter_gradients(nn::Module<double>& module, const std::function<Tensor64()>& loss,
                                             double tolerance = 1e-6, int64_t max_elements = 64, double step = 1e-6) {
  module.zero_grad();
  loss().backward();
  NoGradGuard no_grad;
  for (auto& [name, parameter] : module.named_parameters()) {
    const Tensor64 analytic = parameter.grad().defined() ? parameter.grad() : Tensor64::zeros(parameter.shape());
    const int64_t n = parameter.numel();
    const int64_t stride = std::max<int64_t>(1, n / max_elements);
    for (int64_t i = 0; i < n; i += stride) {
      double* p = parameter.data() + i;  // parameters are contiguous leaves
      const double saved = *p;
      *p = saved + step;
      const double plus = loss().item();
      *p = saved - step;
      const double minus = loss().item();
      *p = saved;
      const double numeric = (plus - minus) / (2 * step);
      const double got = analytic.data()[i];
      if (!(std::abs(got - numeric) <= tolerance * std::max(1.0, std::abs(numeric)))) {
        return fmt::format("parameter {} element {}: analytic {:.9g} vs numeric {:.9g}", name, i, got, numeric);
      }
    }
  }
  return "";
}

}  // namespace attend::testing
