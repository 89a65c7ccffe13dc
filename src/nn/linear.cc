#include "attend/nn/linear.h"

#include <cmath>
#include <type_traits>
#include <utility>

#include "attend/ops/elementwise.h"
#include "attend/ops/matmul.h"

namespace attend::nn {

template <typename T>
Linear<T>::Linear(int64_t in_features, int64_t out_features, bool bias, Generator& generator) {
  ATTEND_CHECK(in_features > 0 && out_features > 0, ValueError, "Linear: features must be positive, got in={} out={}",
               in_features, out_features);
  const T bound = T(1) / std::sqrt(static_cast<T>(in_features));
  const auto draw = [&](const Shape& shape) {
    return SkipParameterInit::active() ? Tensor<T>::zeros(shape) : Tensor<T>::uniform(shape, -bound, bound, generator);
  };
  weight_ = this->register_parameter("weight", draw({out_features, in_features}));
  if (bias) bias_ = this->register_parameter("bias", draw({out_features}));
}

template <typename T>
Tensor<T> Linear<T>::forward(const Tensor<T>& x) const {
  ATTEND_CHECK(x.rank() >= 1 && x.size(-1) == in_features(), ShapeError,
               "Linear: input {} must end with in_features = {}", shape_string(x.shape()), in_features());
  if constexpr (std::is_same_v<T, float>) {
    if (quantized_) {
      ATTEND_CHECK(!this->is_training(), ValueError,
                   "Linear: its weight is quantized ({}), inference only (call eval())",
                   quant::quant_format_name(quantized_->format()));
      // x (..., in) as rows (R, in) -> x W^T + b (R, out) -> (..., out)
      Shape out_shape = x.shape();
      out_shape.back() = out_features();
      return quantized_->project(x.reshape({-1, in_features()}), bias_).reshape(out_shape);
    }
  }
  // x (..., in) @ W^T (in, out) + b (out): one op, the bias written into the output before BLAS
  // accumulates onto it (ops/matmul.h).
  return linear(x, weight_, bias_);
}

template <typename T>
void Linear<T>::quantize(quant::QuantFormat format) {
  ATTEND_CHECK(!keep_float_, ValueError, "Linear::quantize: this layer's owner reads its weight itself (kept float)");
  if constexpr (std::is_same_v<T, float>) {
    quantized_ = std::make_shared<const quant::QuantizedMatrix>(
        quant::QuantizedMatrix::quantize(format, weight_.detach(), "Linear weight"));
  } else {
    fail<ValueError>("Linear::quantize: only float layers are quantized ({} asked)", quant::quant_format_name(format));
  }
}

template <typename T>
void Linear<T>::set_quantized(quant::QuantizedMatrix blocks) {
  ATTEND_CHECK((std::is_same_v<T, float>), ValueError, "Linear::set_quantized: only float layers are quantized");
  ATTEND_CHECK(!keep_float_, ValueError,
               "Linear::set_quantized: this layer's owner reads its weight itself (kept float)");
  ATTEND_CHECK(blocks.rows() == out_features() && blocks.cols() == in_features(), ShapeError,
               "Linear::set_quantized: blocks of ({}, {}) for a weight of {}", blocks.rows(), blocks.cols(),
               shape_string(weight_.shape()));
  quantized_ = std::make_shared<const quant::QuantizedMatrix>(std::move(blocks));
}

std::vector<std::pair<std::string, Linear<float>*>> quantizable_linear_layers(const Module<float>& model) {
  std::vector<std::pair<std::string, Linear<float>*>> layers;
  for (const auto& [name, module] : model.named_modules()) {
    if (auto* linear = dynamic_cast<Linear<float>*>(module); linear != nullptr && linear->quantizable()) {
      layers.emplace_back(name, linear);
    }
  }
  return layers;
}

int64_t quantize_linear_layers(Module<float>& model, quant::QuantFormat format) {
  const auto layers = quantizable_linear_layers(model);
  for (const auto& [name, linear] : layers) linear->quantize(format);
  return static_cast<int64_t>(layers.size());
}

template class Linear<float>;
template class Linear<double>;

}  // namespace attend::nn
