// Shared by the optimizer tests: two parameters, "w" (2, 3) and "b" (3), their initial values,
// a fixed gradient sequence, and helpers to set gradients and compare results.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "attend/core/tensor.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/reduction.h"
#include "attend/train/optimizer.h"

namespace attend::optimizer_fixtures {

using train::NamedTensors;
inline const std::vector<Shape> kShapes = {{2, 3}, {3}};
inline const std::vector<std::string> kNames = {"w", "b"};

// Values as T holds them, back in double: what the optimizer actually sees.
template <typename T>
std::vector<double> rounded(const std::vector<double>& values) {
  std::vector<double> out;
  for (double v : values) out.push_back(static_cast<double>(static_cast<T>(v)));
  return out;
}

inline std::vector<double> initial_values(size_t parameter) {
  std::vector<double> values(shape_numel(kShapes[parameter]));
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::cos(0.37 * i + parameter) * (1 + 0.5 * parameter);
  return values;
}

// Gradient of parameter `parameter` at `step`: no zeros, varying sign and size.
inline std::vector<double> gradient_values(int step, size_t parameter) {
  std::vector<double> values(shape_numel(kShapes[parameter]));
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = std::sin(0.9 * i + 1.7 * step + 0.3 * parameter + 0.5) * (1 + 0.25 * i);
  }
  return values;
}

template <typename T>
NamedTensors<T> make_parameters() {
  NamedTensors<T> parameters;
  for (size_t p = 0; p < kShapes.size(); ++p) {
    const auto values = initial_values(p);
    auto tensor = Tensor<T>::from_vector(kShapes[p], std::vector<T>(values.begin(), values.end()));
    tensor.set_requires_grad();
    parameters.emplace_back(kNames[p], tensor);
  }
  return parameters;
}

// Makes `values` the gradient of `parameter`, through the public autograd: d/dp sum(p * c) = c.
template <typename T>
void set_gradient(const Tensor<T>& parameter, const std::vector<double>& values) {
  Tensor<T> handle = parameter;
  handle.zero_grad();
  const auto c = Tensor<T>::from_vector(parameter.shape(), std::vector<T>(values.begin(), values.end()));
  sum(mul(parameter, c)).backward();
}

template <typename T>
std::vector<double> to_double(const Tensor<T>& tensor) {
  const auto values = tensor.to_vector();
  return std::vector<double>(values.begin(), values.end());
}

template <typename T>
void expect_matches(const Tensor<T>& actual, const std::vector<double>& expected, const std::string& what) {
  // float: the parameter and state are rounded to float after every step; double: the same
  // math in another arrangement, so only the last bits differ.
  const double tolerance = std::is_same_v<T, double> ? 1e-12 : 1e-5;
  const auto values = to_double(actual);
  ASSERT_EQ(values.size(), expected.size()) << what;
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_NEAR(values[i], expected[i], tolerance * std::max(1.0, std::abs(expected[i]))) << what << " element " << i;
  }
}

}  // namespace attend::optimizer_fixtures
