// A projection's weight W (out, in) for inference, float32 or quantized, multiplied the fastest
// way for the number of rows at hand:
//
//   project(x) = x W^T      x (R, in) -> (R, out)
//
// float32: up to 8 rows read W once (kernels/matvec.h: BLAS would pack all of W at every call),
// more go through BLAS; quantized: QuantizedMatrix::project (int8 activations, integer dots).
// Either way a row's result does not depend on the other rows beside it or the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <span>

#include "attend/core/tensor.h"
#include "attend/quant/quantized_matrix.h"

namespace attend::quant {

class WeightMatrix {
 public:
  WeightMatrix() = default;
  explicit WeightMatrix(Tensor<float> dense);  // (out, in)
  explicit WeightMatrix(QuantizedMatrix quantized);
  // The parts' rows in order: quantized when every part is quantized in one format, else
  // float32 (the quantized parts widened). ValueError when the widths differ.
  static WeightMatrix stack(std::span<const WeightMatrix> parts);

  int64_t rows() const;
  int64_t cols() const;
  const std::optional<QuantizedMatrix>& quantized() const { return quantized_; }
  size_t bytes() const;             // memory held
  std::string description() const;  // "float32" or the quantized format's name

  Tensor<float> project(const Tensor<float>& x) const;  // (R, in) -> (R, out); ShapeError otherwise
  void row(int64_t r, std::span<float> out) const;      // row r in float32 (an embedding lookup)
  Tensor<float> dense() const;                          // W in float32 (the stored tensor, or widened)

 private:
  Tensor<float> dense_;
  std::optional<QuantizedMatrix> quantized_;
};

}  // namespace attend::quant
