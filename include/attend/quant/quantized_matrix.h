// A weight matrix kept in GGML's 32-value blocks (Q8_0, Q4_0, Q4_1) and multiplied as it is:
// activations quantized to int8 per block, integer dot products, float scales
// (src/kernels/quantized_activations.h and quantized_groups.h have the formats, drawn, and the math).
//
//   Q8_0: w = d * q,  q int8           8.5 bits a weight
//   Q4_0: w = d * (n - 8), n in 0..15  4.5 bits a weight
//   Q4_1: w = d * n + m                5 bits a weight
//
// The blocks are held in memory as codes with their half-float scales beside them: the same
// bits as the file's blocks, rearranged for the kernels (interleaved by groups of 16 rows,
// src/kernels/quantized_groups.h). Copies share the (immutable) storage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attend/core/tensor.h"

namespace attend::quant {

enum class QuantFormat { q8_0, q4_0, q4_1 };

// "q8_0", "q4_0", "q4_1"; ValueError naming the text for anything else.
QuantFormat parse_quant_format(std::string_view text);
const char* quant_format_name(QuantFormat format);
int64_t quant_block_bytes(QuantFormat format);  // GGML's block: 34, 18, 20
// The integer products this CPU runs, e.g. "AVX3_DL (AVX-512 VNNI vpdpbusd)", "AVX2
// (vpmaddubsw + vpmaddwd)", or a scalar target: Highway picks the best the CPU has.
std::string quantized_kernel_description();

class QuantizedMatrix {
 public:
  // rows x cols from GGML blocks stored row after row (a GGUF tensor with ne = [cols, rows]).
  // ValueError (naming `what`) when cols is not a positive multiple of 32, the byte count is not
  // rows x cols / 32 blocks, or a scale or min is NaN or infinite (its row and block named).
  static QuantizedMatrix from_ggml_blocks(QuantFormat format, int64_t rows, int64_t cols,
                                          std::span<const std::byte> blocks, std::string_view what);
  // W (rows, cols) float32 quantized as llama.cpp's reference quantizers do (ggml-quants.c):
  //   Q8_0: d = max|w| / 127, q = round(w / d) (halves away from zero)
  //   Q4_0: d = -w* / 8 for w* the value of largest magnitude, n = min(15, trunc(w / d + 8.5))
  //   Q4_1: d = (max - min) / 15, m = min, n = min(15, trunc((w - min) / d + 0.5))
  // each division a multiplication by 1 / d, d and m rounded to half floats after the codes.
  // ValueError for a NaN or infinite weight, or cols not a multiple of 32.
  static QuantizedMatrix quantize(QuantFormat format, const Tensor<float>& w, std::string_view what);
  // GGML's blocks row after row, as from_ggml_blocks reads them (a GGUF tensor's bytes).
  std::vector<std::byte> to_ggml_blocks() const;
  // The rows of every part, in order (one format and one width; ValueError otherwise).
  static QuantizedMatrix stack(std::span<const QuantizedMatrix> parts);

  QuantFormat format() const { return storage_->format; }
  int64_t rows() const { return storage_->rows; }
  int64_t cols() const { return storage_->cols; }
  size_t bytes() const;  // memory held

  // (rows, cols) float32, as gguf-py widens the blocks (d * n + m rounded twice).
  Tensor<float> dequantize() const;
  // Row r widened into out[0, cols) (an embedding lookup).
  void dequantize_row(int64_t r, std::span<float> out) const;
  // x (R, cols) -> act(x W^T + bias) (R, rows): the bias (rows) when it is defined, GELU (the
  // exact one of gelu(), its bits) when asked; the same bits as adding and activating after.
  // ShapeError when x is not (R, cols) or the bias not (rows).
  enum class Activation { none, gelu };
  Tensor<float> project(const Tensor<float>& x, const Tensor<float>& bias = {},
                        Activation activation = Activation::none) const;

 private:
  struct Storage {
    QuantFormat format = QuantFormat::q8_0;
    int64_t rows = 0, cols = 0;
    std::vector<uint8_t> codes;    // (groups, cols / 32, 512 for Q8_0 or 256 for Q4)
    std::vector<uint16_t> scales;  // (groups, cols / 32, 16) half floats
    std::vector<uint16_t> mins;    // as the scales, Q4_1 only
  };
  // GGML's blocks row after row: codes (rows, cols / 32, 32 or 16 bytes), scales and mins (rows, cols / 32).
  struct RowLayout {
    std::vector<uint8_t> codes;
    std::vector<uint16_t> scales, mins;
  };
  explicit QuantizedMatrix(std::shared_ptr<const Storage> storage) : storage_(std::move(storage)) {}
  static std::shared_ptr<const Storage> arrange(QuantFormat format, int64_t rows, int64_t cols, RowLayout layout);
  void row_blocks(int64_t r, uint8_t* codes, uint16_t* scales, uint16_t* mins) const;
  std::shared_ptr<const Storage> storage_;
};

}  // namespace attend::quant
