// Linear layer: y = x W^T + b. For inference it can run on its weight quantized to GGML's blocks
// (Q8_0, Q4_0, Q4_1: quant/quantized_matrix.h), its activations quantized per block of 32.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attend/core/random.h"
#include "attend/nn/module.h"
#include "attend/quant/quantized_matrix.h"

namespace attend::nn {

template <typename T>
class Linear : public Module<T> {
 public:
  // weight (out_features, in_features) and bias (out_features) drawn from
  // U(-1/sqrt(in_features), 1/sqrt(in_features)), PyTorch's default.
  Linear(int64_t in_features, int64_t out_features, bool bias, Generator& generator);

  // x (..., in_features) -> (..., out_features).
  Tensor<T> forward(const Tensor<T>& x) const;

  int64_t in_features() const { return weight_.size(1); }
  int64_t out_features() const { return weight_.size(0); }
  const Tensor<T>& weight() const { return weight_; }  // (out_features, in_features)
  const Tensor<T>& bias() const { return bias_; }      // (out_features) or undefined

  // From now on forward multiplies these blocks of the weight (its own, quantized: quantize; a
  // file's: set_quantized, their shape checked), in evaluation mode only (ValueError in training
  // mode). float only; ValueError for in_features not a multiple of 32. The float weight stays a
  // parameter as it was.
  // The blocks are the weight as it is at that moment: a later change of the weight does not
  // reach them.
  void quantize(quant::QuantFormat format);
  void set_quantized(quant::QuantizedMatrix blocks);
  const quant::QuantizedMatrix* quantized() const { return quantized_.get(); }
  // For an owner that reads weight() itself besides forward: the layer then refuses quantize and
  // set_quantized (ValueError), and quantize_linear_layers passes it by.
  void keep_float() { keep_float_ = true; }
  // in_features whole blocks of 32, and not kept float.
  bool quantizable() const { return !keep_float_ && in_features() % 32 == 0; }

 private:
  Tensor<T> weight_;
  Tensor<T> bias_;
  std::shared_ptr<const quant::QuantizedMatrix> quantized_;
  bool keep_float_ = false;
};

// The quantizable() Linear layers of `model`, named as in named_modules().
std::vector<std::pair<std::string, Linear<float>*>> quantizable_linear_layers(const Module<float>& model);

// Quantizes every one of them (the rest stay float); returns how many. Embeddings, norms and
// other layers stay float.
int64_t quantize_linear_layers(Module<float>& model, quant::QuantFormat format);

extern template class Linear<float>;
extern template class Linear<double>;

}  // namespace attend::nn
