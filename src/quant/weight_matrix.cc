#include "attend/quant/weight_matrix.h"

#include <cstring>
#include <vector>

#include "attend/core/error.h"
#include "attend/core/shape.h"
#include "attend/ops/matmul.h"
#include "kernels/matvec.h"

namespace attend::quant {
namespace {

// Up to this many rows a float32 projection reads W once per call instead of going through BLAS.
constexpr int64_t kMatvecRows = 8;

}  // namespace

WeightMatrix::WeightMatrix(Tensor<float> dense) : dense_(dense.contiguous()) {
  ATTEND_CHECK(dense_.rank() == 2, ShapeError, "WeightMatrix: W {} must be (out, in)", shape_string(dense_.shape()));
}

WeightMatrix::WeightMatrix(QuantizedMatrix quantized) : quantized_(std::move(quantized)) {}

WeightMatrix WeightMatrix::stack(std::span<const WeightMatrix> parts) {
  ATTEND_CHECK(!parts.empty(), ValueError, "WeightMatrix::stack: no parts");
  bool one_format = true;
  for (const WeightMatrix& part : parts) {
    ATTEND_CHECK(part.cols() == parts[0].cols(), ValueError, "WeightMatrix::stack: widths {} and {} differ",
                 part.cols(), parts[0].cols());
    one_format = one_format && part.quantized_ && parts[0].quantized_ &&
                 part.quantized_->format() == parts[0].quantized_->format();
  }
  if (one_format) {
    std::vector<QuantizedMatrix> quantized;
    for (const WeightMatrix& part : parts) quantized.push_back(*part.quantized_);
    return WeightMatrix(QuantizedMatrix::stack(quantized));
  }
  int64_t rows = 0;
  for (const WeightMatrix& part : parts) rows += part.rows();
  Tensor<float> stacked = Tensor<float>::empty({rows, parts[0].cols()});
  int64_t row = 0;
  for (const WeightMatrix& part : parts) {
    const Tensor<float> w = part.dense();
    std::memcpy(stacked.data() + row * w.shape()[1], w.data(), static_cast<size_t>(w.numel()) * sizeof(float));
    row += part.rows();
  }
  return WeightMatrix(stacked);
}

int64_t WeightMatrix::rows() const { return quantized_ ? quantized_->rows() : dense_.shape()[0]; }
int64_t WeightMatrix::cols() const { return quantized_ ? quantized_->cols() : dense_.shape()[1]; }
size_t WeightMatrix::bytes() const {
  return quantized_ ? quantized_->bytes() : static_cast<size_t>(dense_.numel()) * sizeof(float);
}
std::string WeightMatrix::description() const {
  return quantized_ ? quant_format_name(quantized_->format()) : "float32";
}

Tensor<float> WeightMatrix::project(const Tensor<float>& x) const {
  if (quantized_) return quantized_->project(x);
  ATTEND_CHECK(x.rank() == 2 && x.shape()[1] == cols(), ShapeError,
               "WeightMatrix::project: x has shape {}, expected (R, {}) for a {} x {} weight", shape_string(x.shape()),
               cols(), rows(), cols());
  const int64_t batch = x.shape()[0];
  if (batch > kMatvecRows) return linear(x, dense_);
  const Tensor<float> input = x.contiguous();
  Tensor<float> y = Tensor<float>::empty({batch, rows()});
  kernels::matvec_rows(dense_.data(), rows(), cols(), input.data(), batch, y.data());
  return y;
}

void WeightMatrix::row(int64_t r, std::span<float> out) const {
  if (quantized_) return quantized_->dequantize_row(r, out);
  ATTEND_CHECK(r >= 0 && r < rows() && static_cast<int64_t>(out.size()) == cols(), ValueError,
               "WeightMatrix::row: row {} of {} into {} values (the width is {})", r, rows(), out.size(), cols());
  std::memcpy(out.data(), dense_.data() + r * cols(), static_cast<size_t>(cols()) * sizeof(float));
}

Tensor<float> WeightMatrix::dense() const { return quantized_ ? quantized_->dequantize() : dense_; }

}  // namespace attend::quant
