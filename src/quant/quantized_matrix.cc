#include "attend/quant/quantized_matrix.h"

#include <cmath>
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "attend/core/error.h"
#include "attend/core/half_float.h"
#include "attend/core/shape.h"
#include "kernels/quantized_groups.h"
#include "kernels/quantized_activations.h"

namespace attend::quant {
namespace {

constexpr int64_t kBlock = kernels::kQuantBlock;

kernels::QuantFormat kernel_format(QuantFormat format) {
  switch (format) {
    case QuantFormat::q8_0:
      return kernels::QuantFormat::q8_0;
    case QuantFormat::q4_0:
      return kernels::QuantFormat::q4_0;
    case QuantFormat::q4_1:
      return kernels::QuantFormat::q4_1;
  }
  fail<ValueError>("unknown quantized format {}", static_cast<int>(format));
}

uint16_t half_at(const std::byte* p) {
  uint16_t bits;
  std::memcpy(&bits, p, sizeof bits);
  return bits;
}

bool finite_half(uint16_t bits) { return ((bits >> 10) & 0x1F) != 0x1F; }

kernels::GroupedWeightsView grouped_view(QuantFormat format, int64_t rows, int64_t cols,
                                         const std::vector<uint8_t>& codes, const std::vector<uint16_t>& scales,
                                         const std::vector<uint16_t>& mins) {
  return {kernel_format(format), rows,          cols / kBlock,
          codes.data(),          scales.data(), mins.empty() ? nullptr : mins.data()};
}

}  // namespace

std::string quantized_kernel_description() {
  const std::string target = kernels::quantized_kernel_target();
  if (target == "AVX3_DL") return target + " (AVX-512 VNNI vpdpbusd)";
  if (target == "AVX3") return target + " (AVX-512BW vpmaddubsw + vpmaddwd)";
  if (target == "AVX2") return target + " (vpmaddubsw + vpmaddwd)";
  return target + " (scalar integer products)";
}

QuantFormat parse_quant_format(std::string_view text) {
  if (text == "q8_0") return QuantFormat::q8_0;
  if (text == "q4_0") return QuantFormat::q4_0;
  if (text == "q4_1") return QuantFormat::q4_1;
  fail<ValueError>("unknown quantized format '{}' (known: q8_0, q4_0, q4_1)", text);
}

const char* quant_format_name(QuantFormat format) {
  switch (format) {
    case QuantFormat::q8_0:
      return "q8_0";
    case QuantFormat::q4_0:
      return "q4_0";
    case QuantFormat::q4_1:
      return "q4_1";
  }
  return "?";
}

int64_t quant_block_bytes(QuantFormat format) {
  switch (format) {
    case QuantFormat::q8_0:
      return 34;
    case QuantFormat::q4_0:
      return 18;
    case QuantFormat::q4_1:
      return 20;
  }
  return 0;
}

QuantizedMatrix QuantizedMatrix::from_ggml_blocks(QuantFormat format, int64_t rows, int64_t cols,
                                                  std::span<const std::byte> blocks, std::string_view what) {
  ATTEND_CHECK(rows > 0 && cols > 0 && cols % kBlock == 0, ValueError,
               "{}: a {} matrix needs a positive row count and a positive multiple of 32 columns, not {} x {}", what,
               quant_format_name(format), rows, cols);
  const int64_t per_row = cols / kBlock, block_bytes = quant_block_bytes(format);
  ATTEND_CHECK(rows <= static_cast<int64_t>(blocks.size()) / (per_row * block_bytes) &&
                   static_cast<int64_t>(blocks.size()) == rows * per_row * block_bytes,
               ValueError, "{}: {} bytes of {} blocks, but {} x {} needs {} blocks of {} bytes", what, blocks.size(),
               quant_format_name(format), rows, cols, rows * per_row, block_bytes);
  RowLayout layout;
  const int64_t code_bytes = kernels::quant_code_bytes(kernel_format(format)), count = rows * per_row;
  const int64_t header = block_bytes - code_bytes;  // d, or d and m
  layout.codes.resize(static_cast<size_t>(count * code_bytes));
  layout.scales.resize(static_cast<size_t>(count));
  if (format == QuantFormat::q4_1) layout.mins.resize(static_cast<size_t>(count));
  for (int64_t b = 0; b < count; ++b) {
    const std::byte* block = blocks.data() + b * block_bytes;
    layout.scales[b] = half_at(block);
    if (format == QuantFormat::q4_1) layout.mins[b] = half_at(block + 2);
    const bool finite = finite_half(layout.scales[b]) && (format != QuantFormat::q4_1 || finite_half(layout.mins[b]));
    ATTEND_CHECK(finite, ValueError, "{}: row {}, block {} has a scale or min that is NaN or infinite", what,
                 b / per_row, b % per_row);
    std::memcpy(layout.codes.data() + b * code_bytes, block + header, static_cast<size_t>(code_bytes));
  }
  return QuantizedMatrix(arrange(format, rows, cols, std::move(layout)));
}

namespace {

// One block of 32 weights into its codes (32 int8 or 16 bytes of nibbles), d and m (ggml-quants.c's
// quantize_row_*_ref, value for value).
void quantize_block(QuantFormat format, const float* w, uint8_t* codes, uint16_t* d, uint16_t* m) {
  if (format == QuantFormat::q8_0) {
    float max = 0.0f;
    for (int i = 0; i < kBlock; ++i) max = std::max(max, std::fabs(w[i]));
    const float scale = max / 127.0f, inverse = scale != 0.0f ? 1.0f / scale : 0.0f;
    for (int i = 0; i < kBlock; ++i) codes[i] = static_cast<uint8_t>(static_cast<int8_t>(std::round(w[i] * inverse)));
    *d = f16_bits_from_float(scale);
    return;
  }
  float scale = 0.0f, offset = 0.0f, low = 0.0f;
  if (format == QuantFormat::q4_0) {
    float largest = 0.0f, signed_largest = 0.0f;
    for (int i = 0; i < kBlock; ++i) {
      if (largest < std::fabs(w[i])) largest = std::fabs(w[i]), signed_largest = w[i];
    }
    scale = signed_largest / -8.0f, offset = 8.5f;
  } else {
    float high = -std::numeric_limits<float>::max();
    low = std::numeric_limits<float>::max();
    for (int i = 0; i < kBlock; ++i) low = std::min(low, w[i]), high = std::max(high, w[i]);
    scale = (high - low) / 15.0f, offset = 0.5f;
  }
  const float inverse = scale != 0.0f ? 1.0f / scale : 0.0f;
  const auto code = [&](float value) {
    return static_cast<uint8_t>(std::min(15, static_cast<int>(static_cast<int8_t>((value - low) * inverse + offset))));
  };
  for (int k = 0; k < 16; ++k) codes[k] = static_cast<uint8_t>(code(w[k]) | code(w[k + 16]) << 4);
  *d = f16_bits_from_float(scale);
  if (format == QuantFormat::q4_1) *m = f16_bits_from_float(low);
}

}  // namespace

QuantizedMatrix QuantizedMatrix::quantize(QuantFormat format, const Tensor<float>& w, std::string_view what) {
  ATTEND_CHECK(w.rank() == 2 && w.shape()[0] > 0 && w.shape()[1] > 0 && w.shape()[1] % kBlock == 0, ValueError,
               "{}: quantizing needs a (rows, cols) weight with cols a positive multiple of 32, not {}", what,
               shape_string(w.shape()));
  const Tensor<float> weights = w.contiguous();
  const int64_t rows = weights.shape()[0], cols = weights.shape()[1], blocks = cols / kBlock;
  for (int64_t i = 0; i < weights.numel(); ++i) {
    ATTEND_CHECK(std::isfinite(weights.data()[i]), ValueError, "{}: weight {} (row {}, column {}) is {}", what, i,
                 i / cols, i % cols, weights.data()[i]);
  }
  const int64_t code_bytes = kernels::quant_code_bytes(kernel_format(format));
  RowLayout layout;
  layout.codes.resize(static_cast<size_t>(rows * blocks * code_bytes));
  layout.scales.resize(static_cast<size_t>(rows * blocks));
  if (format == QuantFormat::q4_1) layout.mins.resize(layout.scales.size());
  for (int64_t b = 0; b < rows * blocks; ++b) {
    quantize_block(format, weights.data() + b * kBlock, layout.codes.data() + b * code_bytes, &layout.scales[b],
                   layout.mins.empty() ? nullptr : &layout.mins[b]);
  }
  return QuantizedMatrix(arrange(format, rows, cols, std::move(layout)));
}

// The rows go into groups of 16 (kernels/quantized_groups.h).
std::shared_ptr<const QuantizedMatrix::Storage> QuantizedMatrix::arrange(QuantFormat format, int64_t rows, int64_t cols,
                                                                         RowLayout layout) {
  auto storage = std::make_shared<Storage>();
  storage->format = format, storage->rows = rows, storage->cols = cols;
  const int64_t blocks = cols / kBlock, groups = kernels::row_groups(rows);
  storage->codes.resize(static_cast<size_t>(groups * blocks * kernels::group_block_bytes(kernel_format(format))));
  storage->scales.resize(static_cast<size_t>(groups * blocks * kernels::kGroupRows));
  if (format == QuantFormat::q4_1) storage->mins.resize(storage->scales.size());
  kernels::group_rows(kernel_format(format), rows, blocks, layout.codes.data(), layout.scales.data(),
                      layout.mins.empty() ? nullptr : layout.mins.data(), storage->codes.data(), storage->scales.data(),
                      storage->mins.empty() ? nullptr : storage->mins.data());
  return storage;
}

// Row r's blocks in GGML's order (codes, then scales and mins), whatever the arrangement.
void QuantizedMatrix::row_blocks(int64_t r, uint8_t* codes, uint16_t* scales, uint16_t* mins) const {
  const Storage& s = *storage_;
  kernels::ungroup_row(grouped_view(s.format, s.rows, s.cols, s.codes, s.scales, s.mins), r, codes, scales, mins);
}

std::vector<std::byte> QuantizedMatrix::to_ggml_blocks() const {
  const Storage& s = *storage_;
  const int64_t per_row = s.cols / kBlock, block_bytes = quant_block_bytes(s.format);
  const int64_t code_bytes = kernels::quant_code_bytes(kernel_format(s.format)), header = block_bytes - code_bytes;
  std::vector<uint8_t> codes(static_cast<size_t>(per_row * code_bytes));
  std::vector<uint16_t> scales(static_cast<size_t>(per_row)), mins(s.format == QuantFormat::q4_1 ? per_row : 0);
  std::vector<std::byte> blocks(static_cast<size_t>(s.rows * per_row * block_bytes));
  for (int64_t r = 0; r < s.rows; ++r) {
    row_blocks(r, codes.data(), scales.data(), mins.empty() ? nullptr : mins.data());
    for (int64_t b = 0; b < per_row; ++b) {
      std::byte* block = blocks.data() + (r * per_row + b) * block_bytes;  // d, [m,] codes
      std::memcpy(block, &scales[b], 2);
      if (!mins.empty()) std::memcpy(block + 2, &mins[b], 2);
      std::memcpy(block + header, codes.data() + b * code_bytes, static_cast<size_t>(code_bytes));
    }
  }
  return blocks;
}

QuantizedMatrix QuantizedMatrix::stack(std::span<const QuantizedMatrix> parts) {
  ATTEND_CHECK(!parts.empty(), ValueError, "QuantizedMatrix::stack: no parts");
  const QuantFormat format = parts[0].format();
  const int64_t cols = parts[0].cols(), blocks = cols / kBlock;
  const int64_t code_bytes = kernels::quant_code_bytes(kernel_format(format));
  RowLayout layout;
  int64_t rows = 0;
  bool whole_groups = true;  // every part but the last fills its groups: the arrays just follow one another
  for (size_t p = 0; p < parts.size(); ++p) {
    const QuantizedMatrix& part = parts[p];
    ATTEND_CHECK(part.format() == format && part.cols() == cols, ValueError,
                 "QuantizedMatrix::stack: a {} part of width {} beside a {} part of width {}",
                 quant_format_name(part.format()), part.cols(), quant_format_name(format), cols);
    rows += part.rows();
    whole_groups = whole_groups && (p + 1 == parts.size() || part.rows() % kernels::kGroupRows == 0);
  }
  if (whole_groups) {
    auto storage = std::make_shared<Storage>();
    storage->format = format, storage->rows = rows, storage->cols = cols;
    for (const QuantizedMatrix& part : parts) {
      const Storage& s = *part.storage_;
      storage->codes.insert(storage->codes.end(), s.codes.begin(), s.codes.end());
      storage->scales.insert(storage->scales.end(), s.scales.begin(), s.scales.end());
      storage->mins.insert(storage->mins.end(), s.mins.begin(), s.mins.end());
    }
    return QuantizedMatrix(std::move(storage));
  }
  layout.codes.resize(static_cast<size_t>(rows * blocks * code_bytes));
  layout.scales.resize(static_cast<size_t>(rows * blocks));
  if (format == QuantFormat::q4_1) layout.mins.resize(layout.scales.size());
  int64_t row = 0;
  for (const QuantizedMatrix& part : parts) {
    for (int64_t r = 0; r < part.rows(); ++r, ++row) {
      part.row_blocks(r, layout.codes.data() + row * blocks * code_bytes, layout.scales.data() + row * blocks,
                      layout.mins.empty() ? nullptr : layout.mins.data() + row * blocks);
    }
  }
  return QuantizedMatrix(arrange(format, rows, cols, std::move(layout)));
}

size_t QuantizedMatrix::bytes() const {
  return storage_->codes.size() + 2 * (storage_->scales.size() + storage_->mins.size());
}

// w_i = d * n_i + m (Q4_1), d * (n_i - 8) (Q4_0), d * q_i (Q8_0): products and sums in float,
// each rounded (this file is compiled without contraction), as gguf-py's numpy does.
void QuantizedMatrix::dequantize_row(int64_t r, std::span<float> out) const {
  const Storage& s = *storage_;
  ATTEND_CHECK(r >= 0 && r < s.rows && static_cast<int64_t>(out.size()) == s.cols, ValueError,
               "QuantizedMatrix::dequantize_row: row {} of {} into {} values (the width is {})", r, s.rows, out.size(),
               s.cols);
  const int64_t per_row = s.cols / kBlock, code_bytes = kernels::quant_code_bytes(kernel_format(s.format));
  std::vector<uint8_t> row_codes(static_cast<size_t>(per_row * code_bytes));
  std::vector<uint16_t> scales(static_cast<size_t>(per_row)), mins(scales.size());
  row_blocks(r, row_codes.data(), scales.data(), mins.data());
  for (int64_t j = 0; j < per_row; ++j) {
    const float d = float_from_f16_bits(scales[j]);
    const uint8_t* codes = row_codes.data() + j * code_bytes;
    float* values = out.data() + j * kBlock;
    if (s.format == QuantFormat::q8_0) {
      for (int i = 0; i < kBlock; ++i) values[i] = d * static_cast<float>(static_cast<int8_t>(codes[i]));
      continue;
    }
    const float m = s.format == QuantFormat::q4_1 ? float_from_f16_bits(mins[j]) : 0.0f;
    for (int k = 0; k < 16; ++k) {
      const int low = codes[k] & 15, high = codes[k] >> 4;
      if (s.format == QuantFormat::q4_1) {
        values[k] = d * static_cast<float>(low) + m;
        values[k + 16] = d * static_cast<float>(high) + m;
      } else {
        values[k] = d * static_cast<float>(low - 8);
        values[k + 16] = d * static_cast<float>(high - 8);
      }
    }
  }
}

Tensor<float> QuantizedMatrix::dequantize() const {
  Tensor<float> w = Tensor<float>::empty({rows(), cols()});
  for (int64_t r = 0; r < rows(); ++r) {
    dequantize_row(r, std::span<float>(w.data() + r * cols(), static_cast<size_t>(cols())));
  }
  return w;
}

Tensor<float> QuantizedMatrix::project(const Tensor<float>& x, const Tensor<float>& bias, Activation activation) const {
  ATTEND_CHECK(x.rank() == 2 && x.shape()[1] == cols(), ShapeError,
               "QuantizedMatrix::project: x has shape {}, expected (R, {}) for a {} x {} weight",
               shape_string(x.shape()), cols(), rows(), cols());
  ATTEND_CHECK(!bias.defined() || (bias.rank() == 1 && bias.shape()[0] == rows()), ShapeError,
               "QuantizedMatrix::project: bias has shape {}, expected ({}) for a {} x {} weight",
               bias.defined() ? shape_string(bias.shape()) : std::string("()"), rows(), rows(), cols());
  const Tensor<float> input = x.contiguous();
  const int64_t batch = input.shape()[0], blocks = cols() / kBlock;
  Tensor<float> y = Tensor<float>::empty({batch, rows()});
  if (batch == 0) return y;
  const Storage& s = *storage_;
  // x quantized into tiles (quantized_activations.h), never initialized first: every byte is written.
  const std::unique_ptr<uint8_t[]> tiles(
      new uint8_t[static_cast<size_t>(kernels::quantized_tiles_bytes(batch, blocks))]);
  kernels::quantize_tiles(input.data(), batch, blocks, kernel_format(s.format), tiles.get());
  const Tensor<float> added = bias.defined() ? bias.contiguous() : Tensor<float>();
  kernels::grouped_matmul(
      grouped_view(s.format, s.rows, s.cols, s.codes, s.scales, s.mins),
      {kernel_format(s.format), batch, blocks, tiles.get()}, added.defined() ? added.data() : nullptr,
      activation == Activation::gelu ? kernels::OutputActivation::kGelu : kernels::OutputActivation::kNone, y.data());
  return y;
}

}  // namespace attend::quant
