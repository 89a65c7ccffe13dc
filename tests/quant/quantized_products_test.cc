// The quantized product (kernels/quantized_activations.h) on every SIMD target: the per-block integer
// sums exactly equal to a scalar reference written here, the output equal to a float64 product
// of the widened blocks with the widened int8 activations to float rounding, the same bits for a
// row whatever the batch and thread count; 0, 1, 2 and 18 blocks, misaligned rows. Then
// QuantizedMatrix: its widening bitwise equal to the GGUF reader's (gguf-py's arithmetic), and
// its errors.
// The kernel's targets include AVX-512 VNNI (AVX3_DL), which for_each_simd_target visits only when
// this file asks for it too.
#define HWY_WANT_AVX3_DL
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "attend/core/half_float.h"
#include "attend/core/parallel.h"
#include "attend/core/random.h"
#include "attend/gguf/dequantize.h"
#include "attend/quant/quantized_matrix.h"
#include "attend/quant/weight_matrix.h"
#include "harness/expect_error.h"
#include "harness/simd_targets.h"
#include "kernels/gelu.h"
#include "kernels/quantized_groups.h"
#include "kernels/quantized_activations.h"

namespace attend {
namespace {

using kernels::QuantFormat;

constexpr QuantFormat kFormats[] = {QuantFormat::q8_0, QuantFormat::q4_0, QuantFormat::q4_1};

// A finite half float of magnitude 2^-9 .. 2^-2, either sign when `signed_value`.
uint16_t random_half(Generator& generator, bool signed_value) {
  const uint32_t exponent = 6 + generator.uniform_int(8), fraction = generator.uniform_int(1024);
  const uint32_t sign = signed_value ? generator.uniform_int(2) : 0;
  return static_cast<uint16_t>(sign << 15 | exponent << 10 | fraction);
}

struct Weights {
  QuantFormat format;
  int64_t rows, blocks;
  std::vector<uint8_t> codes;  // one spare byte first: rows start misaligned
  std::vector<uint16_t> scales, mins;
  // w of row o, column c, widened in double.
  double value(int64_t o, int64_t c) const {
    const int64_t j = c / 32, i = c % 32, b = o * blocks + j;
    const double d = float_from_f16_bits(scales[b]);
    if (format == QuantFormat::q8_0) return d * static_cast<int8_t>(codes[1 + b * 32 + i]);
    const uint8_t byte = codes[1 + b * 16 + i % 16];
    const int n = i < 16 ? byte & 15 : byte >> 4;
    return format == QuantFormat::q4_0 ? d * (n - 8) : d * n + float_from_f16_bits(mins[b]);
  }
  int code(int64_t o, int64_t c) const {  // the integer multiplying d s in S_j (n - 8 for Q4_0)
    const int64_t j = c / 32, i = c % 32, b = o * blocks + j;
    if (format == QuantFormat::q8_0) return static_cast<int8_t>(codes[1 + b * 32 + i]);
    const uint8_t byte = codes[1 + b * 16 + i % 16];
    const int n = i < 16 ? byte & 15 : byte >> 4;
    return format == QuantFormat::q4_0 ? n - 8 : n;
  }
};

Weights random_weights(QuantFormat format, int64_t rows, int64_t blocks, Generator& generator) {
  Weights w{format, rows, blocks, {}, {}, {}};
  w.codes.resize(static_cast<size_t>(1 + rows * blocks * kernels::quant_code_bytes(format)));
  for (uint8_t& byte : w.codes) byte = static_cast<uint8_t>(generator.uniform_int(256));
  for (int64_t b = 0; b < rows * blocks; ++b) {
    w.scales.push_back(random_half(generator, true));
    if (format == QuantFormat::q4_1) w.mins.push_back(random_half(generator, true));
  }
  return w;
}

// x quantized into the kernels' tiles (one spare byte first: every tile starts misaligned), and
// a row's block read back from them.
struct Activations {
  QuantFormat weights;
  int64_t rows, blocks;
  std::vector<uint8_t> tiles;
  kernels::QuantizedTilesView view() const { return {weights, rows, blocks, tiles.data() + 1}; }
  kernels::TileEntry entry(int64_t row, int64_t block) const { return kernels::tile_entry(view(), row, block); }
  int code(int64_t row, int64_t column) const { return entry(row, column / 32).codes[column % 32]; }
  float scale(int64_t row, int64_t block) const { return entry(row, block).scale; }
};

Activations quantize(const std::vector<float>& x, int64_t rows, int64_t blocks,
                     QuantFormat weights = QuantFormat::q8_0) {
  Activations a{weights, rows, blocks,
                std::vector<uint8_t>(static_cast<size_t>(1 + kernels::quantized_tiles_bytes(rows, blocks)), 0xAB)};
  kernels::quantize_tiles(x.data(), rows, blocks, weights, a.tiles.data() + 1);
  return a;
}

std::vector<float> random_floats(int64_t n, Generator& generator) {
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = static_cast<float>(generator.normal());
  return x;
}

TEST(QuantizeTiles, ScalesRoundsAndSumsEachBlockOnEveryTarget) {
  Generator generator(3);
  std::vector<float> x = random_floats(5 * 32, generator);
  for (int i = 0; i < 32; ++i) x[32 + i] = 0.0f;                               // block 1: all zero
  x[64 + 5] = NAN;                                                             // block 2: a NaN
  for (int i = 0; i < 32; ++i) x[96 + i] = i == 0 ? 127.0f : (i - 16) + 0.5f;  // block 3: s = 1, ties k + 1/2
  x[128 + 7] = -INFINITY;                                                      // block 4: an infinity
  attend::testing::for_each_simd_target([&] {
    const Activations a = quantize(x, 1, 5);
    for (int64_t j = 0; j < 5; ++j) {
      SCOPED_TRACE(j);
      const kernels::TileEntry e = a.entry(0, j);
      if (j == 2 || j == 4) {
        EXPECT_TRUE(std::isnan(e.scale) && std::isnan(e.scaled_sum));
        EXPECT_EQ(e.start, 0);
        for (int i = 0; i < 32; ++i) EXPECT_EQ(e.codes[i], 0);
        continue;
      }
      float max = 0;
      for (int i = 0; i < 32; ++i) max = std::max(max, std::fabs(x[j * 32 + i]));
      const float scale = max / 127.0f, inverse = scale != 0 ? 1.0f / scale : 0.0f;
      EXPECT_EQ(e.scale, scale);
      int32_t sum = 0;
      for (int i = 0; i < 32; ++i) {
        const float scaled = x[j * 32 + i] * inverse;
        const float nearest = std::round(scaled);
        const float even = std::fabs(scaled - std::trunc(scaled)) == 0.5f ? 2 * std::round(scaled / 2) : nearest;
        EXPECT_EQ(e.codes[i], static_cast<int8_t>(even)) << i;
        EXPECT_LE(std::abs(e.codes[i]), 127);
        sum += e.codes[i];
      }
      EXPECT_EQ(e.start, -128 * sum);  // Q8_0 weights' codes carry + 128
      EXPECT_EQ(e.scaled_sum, scale * static_cast<float>(sum));
    }
  });
}

// A block so small that 1 / s overflows (s = max |x| / 127 below the smallest normal float):
// codes 0, as for an all-zero block, not the codes of infinity (which wrapped to -128).
TEST(QuantizeTiles, TinyBlocksGiveZeroCodes) {
  std::vector<float> x(3 * 32, 1e-38f);
  x[5] = -2e-38f;
  x[64 + 1] = 3.0f;  // and a normal block beside them
  attend::testing::for_each_simd_target([&] {
    for (const int64_t rows : {1, 3}) {  // one row of 3 blocks; 3 rows of 1 (blocks in one run of 16 or not)
      const Activations a = quantize(x, rows, 3 / rows);
      const kernels::TileEntry tiny = a.entry(0, 0), normal = a.entry(rows == 1 ? 0 : 2, rows == 1 ? 2 : 0);
      for (const int8_t code : tiny.codes) EXPECT_EQ(code, 0);
      EXPECT_EQ(tiny.start, 0);
      EXPECT_EQ(tiny.scaled_sum, 0.0f);
      EXPECT_EQ(normal.codes[1], 127);
    }
  });
}

// Every row of every batch size lands in its own tile slot (tiles of 8, then 4, then single rows),
// holding what the row quantized alone holds (alone: blocks one at a time; in a batch: 16 at once
// on AVX-512), with the start of each weight format; 1 and 2 threads.
TEST(QuantizeTiles, EachRowKeepsItsOwnEntriesInAnyBatch) {
  Generator generator(5);
  constexpr int64_t kBlocks = 2;
  for (const QuantFormat format : kFormats) {
    for (int64_t rows = 1; rows <= 19; ++rows) {
      SCOPED_TRACE(::testing::Message() << "format " << static_cast<int>(format) << ", rows " << rows);
      std::vector<float> x = random_floats(rows * kBlocks * 32, generator);
      if (rows >= 13) {  // a NaN and an infinity inside runs of 16 blocks: only their own blocks say so
        x[5 * kBlocks * 32 + 3] = NAN;
        x[12 * kBlocks * 32 + 40] = -INFINITY;
      }
      for (const int threads : {1, 2}) {
        ThreadCountGuard guard(threads);
        const Activations a = quantize(x, rows, kBlocks, format);
        EXPECT_EQ(a.tiles[0], 0xAB);  // nothing written before the tiles
        for (int64_t row = 0; row < rows; ++row) {
          const Activations alone =
              quantize(std::vector<float>(x.begin() + row * kBlocks * 32, x.begin() + (row + 1) * kBlocks * 32), 1,
                       kBlocks, format);
          for (int64_t j = 0; j < kBlocks; ++j) {
            const kernels::TileEntry e = a.entry(row, j), expected = alone.entry(0, j);
            EXPECT_EQ(std::memcmp(&e, &expected, sizeof e), 0) << row << ", " << j;
            int32_t sum = 0;
            for (const int8_t code : e.codes) sum += code;
            EXPECT_EQ(e.start, -kernels::code_offset(format) * sum);
          }
        }
      }
    }
  }
}

// The grouped kernels' output, written out: y = fma(float(S_j), d_j s_j, y), then (Q4_1)
// y = fma(m_j, s_j sums_j, y), block after block (kernels/quantized_groups.h).
float grouped_reference(const Weights& w, int64_t o, const Activations& a, int64_t b) {
  float out = 0.0f;
  for (int64_t j = 0; j < w.blocks; ++j) {
    int32_t sum = 0;
    const kernels::TileEntry e = a.entry(b, j);
    for (int i = 0; i < 32; ++i) sum += w.code(o, j * 32 + i) * e.codes[i];
    out = std::fma(static_cast<float>(sum), float_from_f16_bits(w.scales[o * w.blocks + j]) * e.scale, out);
    if (w.format == QuantFormat::q4_1) {
      out = std::fma(float_from_f16_bits(w.mins[o * w.blocks + j]), e.scaled_sum, out);
    }
  }
  return out;
}

// The grouped kernels on every target (Q8_0, Q4_0, Q4_1): the same bits as the reference above
// (one order of operations everywhere), whatever the batch and thread count; row counts that do
// not fill a group, 1 to 18 blocks; the row layout back from the groups.
TEST(GroupedMatmul, EqualsItsReferenceBitForBitOnEveryTarget) {
  Generator generator(17);
  std::set<std::string> visited;
  for (const QuantFormat format : kFormats) {
    for (const auto& [rows, blocks] : std::vector<std::pair<int64_t, int64_t>>{{37, 2}, {5, 1}, {16, 3}, {33, 18}}) {
      SCOPED_TRACE(::testing::Message() << "format " << static_cast<int>(format) << ", " << rows << " x " << blocks);
      const Weights w = random_weights(format, rows, blocks, generator);
      const int64_t groups = kernels::row_groups(rows);
      std::vector<uint8_t> codes(static_cast<size_t>(groups * blocks * kernels::group_block_bytes(format)));
      std::vector<uint16_t> scales(static_cast<size_t>(groups * blocks * kernels::kGroupRows)), mins(scales.size());
      const bool q4_1 = format == QuantFormat::q4_1;
      kernels::group_rows(format, rows, blocks, w.codes.data() + 1, w.scales.data(), q4_1 ? w.mins.data() : nullptr,
                          codes.data(), scales.data(), q4_1 ? mins.data() : nullptr);
      const kernels::GroupedWeightsView grouped{format,       rows,          blocks,
                                                codes.data(), scales.data(), q4_1 ? mins.data() : nullptr};
      // Round trip: every row back in GGML's order.
      const int64_t code_bytes = kernels::quant_code_bytes(format);
      std::vector<uint8_t> row_codes(static_cast<size_t>(blocks * code_bytes));
      std::vector<uint16_t> row_scales(static_cast<size_t>(blocks)), row_mins(row_scales.size());
      for (int64_t o = 0; o < rows; ++o) {
        kernels::ungroup_row(grouped, o, row_codes.data(), row_scales.data(), row_mins.data());
        EXPECT_TRUE(std::equal(row_codes.begin(), row_codes.end(), w.codes.begin() + 1 + o * blocks * code_bytes)) << o;
        EXPECT_TRUE(std::equal(row_scales.begin(), row_scales.end(), w.scales.begin() + o * blocks)) << o;
      }
      constexpr int64_t kBatch = 13;  // a tile of 8, one of 4, one row
      const std::vector<float> x = random_floats(kBatch * blocks * 32, generator);
      const Activations a = quantize(x, kBatch, blocks, format);
      const std::vector<float> bias = random_floats(rows, generator);
      std::vector<float> expected(kBatch * rows);
      for (int64_t b = 0; b < kBatch; ++b) {
        for (int64_t o = 0; o < rows; ++o) {
          expected[b * rows + o] = grouped_reference(w, o, a, b);
          // The formula itself: the product of the widened weights and activations in float64.
          double product = 0, magnitude = 0;
          for (int64_t c = 0; c < blocks * 32; ++c) {
            const double term = w.value(o, c) * a.scale(b, c / 32) * a.code(b, c);
            product += term, magnitude += std::fabs(term);
          }
          EXPECT_NEAR(expected[b * rows + o], product, 2e-6 * magnitude + 1e-30) << b << ", " << o;
        }
      }
      attend::testing::for_each_simd_target_named([&](const char* target) {
        SCOPED_TRACE(target);
        visited.insert(target);
        for (const int threads : {1, 2}) {
          ThreadCountGuard guard(threads);
          std::vector<float> y(kBatch * rows), biased(y.size());
          kernels::grouped_matmul(grouped, a.view(), nullptr, kernels::OutputActivation::kNone, y.data());
          EXPECT_EQ(y, expected) << threads << " threads";
          // The bias added to each finished sum: the bits of adding it after.
          kernels::grouped_matmul(grouped, a.view(), bias.data(), kernels::OutputActivation::kNone, biased.data());
          for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(biased[i], expected[i] + bias[i % rows]) << i;
          // Then GELU: the bits of gelu_forward on the biased outputs.
          std::vector<float> activated(y.size()), gelu(y.size());
          kernels::grouped_matmul(grouped, a.view(), bias.data(), kernels::OutputActivation::kGelu, activated.data());
          kernels::gelu_forward(biased.data(), static_cast<int64_t>(biased.size()), gelu.data());
          for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(activated[i], gelu[i]) << i << " x " << biased[i];
        }
        // Each row alone (a batch of one, and of the last four) gives its bits in the batch.
        const Activations last = quantize(std::vector<float>(x.end() - blocks * 32, x.end()), 1, blocks, format);
        std::vector<float> alone(rows);
        kernels::grouped_matmul(grouped, last.view(), nullptr, kernels::OutputActivation::kNone, alone.data());
        EXPECT_EQ(alone, std::vector<float>(expected.end() - rows, expected.end()));
        const Activations four = quantize(std::vector<float>(x.end() - 4 * blocks * 32, x.end()), 4, blocks, format);
        std::vector<float> fours(4 * rows);
        kernels::grouped_matmul(grouped, four.view(), nullptr, kernels::OutputActivation::kNone, fours.data());
        EXPECT_EQ(fours, std::vector<float>(expected.end() - 4 * rows, expected.end()));
      });
    }
  }
  if (hwy::SupportedTargets() & HWY_AVX3_DL) {
    EXPECT_TRUE(visited.count("AVX3_DL")) << "VNNI not tested";
  }
  if (hwy::SupportedTargets() & HWY_AVX2) {
    EXPECT_TRUE(visited.count("AVX2")) << "AVX2 not tested";
  }
}

// GGML blocks of `format` for the weights above: header (d, m) then codes, block after block.
std::vector<std::byte> ggml_blocks(const Weights& w) {
  const int64_t code_bytes = kernels::quant_code_bytes(w.format);
  std::vector<std::byte> bytes;
  for (int64_t b = 0; b < w.rows * w.blocks; ++b) {
    const auto append = [&](const void* p, size_t n) {
      const auto* first = static_cast<const std::byte*>(p);
      bytes.insert(bytes.end(), first, first + n);
    };
    append(&w.scales[b], 2);
    if (w.format == QuantFormat::q4_1) append(&w.mins[b], 2);
    append(w.codes.data() + 1 + b * code_bytes, static_cast<size_t>(code_bytes));
  }
  return bytes;
}

TEST(QuantizedMatrix, WidensAsTheGgufReaderAndProjectsAsTheKernel) {
  Generator generator(7);
  const std::pair<quant::QuantFormat, gguf::TensorType> formats[] = {
      {quant::QuantFormat::q8_0, gguf::TensorType::kQ8_0},
      {quant::QuantFormat::q4_0, gguf::TensorType::kQ4_0},
      {quant::QuantFormat::q4_1, gguf::TensorType::kQ4_1}};
  for (const auto& [format, type] : formats) {
    const Weights w = random_weights(kFormats[static_cast<int>(format)], 9, 3, generator);
    const std::vector<std::byte> blocks = ggml_blocks(w);
    const quant::QuantizedMatrix matrix = quant::QuantizedMatrix::from_ggml_blocks(format, 9, 96, blocks, "test");
    std::vector<float> widened(9 * 96);
    gguf::dequantize(type, blocks, widened);
    EXPECT_EQ(matrix.dequantize().to_vector(), widened);
    const std::vector<float> x = random_floats(2 * 96, generator);
    const Activations a = quantize(x, 2, 3, kFormats[static_cast<int>(format)]);
    std::vector<float> y(2 * 9);
    for (int64_t b = 0; b < 2; ++b) {  // interleaved by groups of 16 rows: the grouped kernels' order
      for (int64_t o = 0; o < 9; ++o) y[b * 9 + o] = grouped_reference(w, o, a, b);
    }
    EXPECT_EQ(matrix.project(Tensor<float>::from_vector({2, 96}, x)).to_vector(), y);
    // Stacked with itself: the rows twice, the same products.
    const std::vector<quant::QuantizedMatrix> parts{matrix, matrix};
    const Tensor<float> stacked = quant::QuantizedMatrix::stack(parts).project(Tensor<float>::from_vector({2, 96}, x));
    EXPECT_EQ(stacked.shape(), (Shape{2, 18}));
    EXPECT_EQ(stacked.at({1, 17}), y[17]);
    // A part of whole groups of 16 rows first (its arrays are taken as they are), then this one.
    const Weights sixteen = random_weights(kFormats[static_cast<int>(format)], 16, 3, generator);
    const std::vector<quant::QuantizedMatrix> mixed{
        quant::QuantizedMatrix::from_ggml_blocks(format, 16, 96, ggml_blocks(sixteen), "sixteen"), matrix};
    std::vector<float> both = quant::QuantizedMatrix::stack(mixed).dequantize().to_vector();
    std::vector<float> expected = mixed[0].dequantize().to_vector();
    expected.insert(expected.end(), widened.begin(), widened.end());
    EXPECT_EQ(both, expected);
  }
}

// Quantizing float weights (llama.cpp's reference quantizers): every weight comes back within
// half a step of its block's grid (plus the scale's rounding to a half float; Q4_0's largest
// positive value may clip by one step), and a matrix already on its grid comes back bit for bit.
TEST(QuantizedMatrix, QuantizesFloatWeightsOntoEachBlocksGrid) {
  Generator generator(21);
  for (const quant::QuantFormat format :
       {quant::QuantFormat::q8_0, quant::QuantFormat::q4_0, quant::QuantFormat::q4_1}) {
    SCOPED_TRACE(quant::quant_format_name(format));
    const Tensor<float> w = Tensor<float>::randn({5, 96}, generator);
    const quant::QuantizedMatrix q = quant::QuantizedMatrix::quantize(format, w, "w");
    const std::vector<float> back = q.dequantize().to_vector(), original = w.to_vector();
    for (int64_t block = 0; block < 5 * 3; ++block) {
      float low = INFINITY, high = -INFINITY, largest = 0;
      for (int i = 0; i < 32; ++i) {
        const float v = original[block * 32 + i];
        low = std::min(low, v), high = std::max(high, v), largest = std::max(largest, std::fabs(v));
      }
      const float step = format == quant::QuantFormat::q8_0   ? largest / 127
                         : format == quant::QuantFormat::q4_0 ? largest / 8
                                                              : (high - low) / 15;
      const float allowed = (format == quant::QuantFormat::q4_0 ? 1.01f : 0.51f) * step + 1e-3f * largest;
      for (int i = 0; i < 32; ++i) {
        EXPECT_LE(std::fabs(back[block * 32 + i] - original[block * 32 + i]), allowed) << block << ", " << i;
      }
    }
    // On the grid already: the same blocks again.
    const quant::QuantizedMatrix again = quant::QuantizedMatrix::quantize(format, q.dequantize(), "again");
    EXPECT_EQ(again.dequantize().to_vector(), back);
  }
  expect_error<ValueError>(
      [&] {
        quant::QuantizedMatrix::quantize(quant::QuantFormat::q8_0, Tensor<float>::zeros({2, 48}), "layer.w");
      },
      {"layer.w", "multiple of 32", "(2, 48)"});
  Tensor<float> bad = Tensor<float>::zeros({2, 32});
  bad.data()[40] = NAN;
  expect_error<ValueError>([&] { quant::QuantizedMatrix::quantize(quant::QuantFormat::q4_1, bad, "w"); },
                           {"weight 40 (row 1, column 8) is nan"});
}

TEST(QuantizedMatrix, RefusesBadShapesBytesAndScales) {
  Generator generator(9);
  const Weights w = random_weights(QuantFormat::q4_1, 2, 2, generator);
  std::vector<std::byte> blocks = ggml_blocks(w);
  using quant::QuantFormat;
  expect_error<ValueError>([&] { quant::QuantizedMatrix::from_ggml_blocks(QuantFormat::q4_1, 2, 63, blocks, "blk.0"); },
                           {"blk.0", "multiple of 32", "2 x 63"});
  expect_error<ValueError>([&] { quant::QuantizedMatrix::from_ggml_blocks(QuantFormat::q4_1, 3, 64, blocks, "w"); },
                           {"80 bytes", "6 blocks of 20 bytes"});
  expect_error<ValueError>([&] { quant::QuantizedMatrix::from_ggml_blocks(QuantFormat::q4_1, 0, 64, {}, "w"); },
                           {"positive row count"});
  const uint16_t nan = 0x7E00, infinity = 0x7C00;
  std::memcpy(blocks.data() + 3 * 20 + 2, &nan, 2);  // row 1, block 1: m
  expect_error<ValueError>([&] { quant::QuantizedMatrix::from_ggml_blocks(QuantFormat::q4_1, 2, 64, blocks, "w"); },
                           {"row 1, block 1", "NaN or infinite"});
  std::memcpy(blocks.data() + 3 * 20 + 2, &w.mins[3], 2);
  std::memcpy(blocks.data(), &infinity, 2);  // row 0, block 0: d
  expect_error<ValueError>([&] { quant::QuantizedMatrix::from_ggml_blocks(QuantFormat::q4_1, 2, 64, blocks, "w"); },
                           {"row 0, block 0"});
  std::memcpy(blocks.data(), &w.scales[0], 2);
  const quant::QuantizedMatrix matrix = quant::QuantizedMatrix::from_ggml_blocks(QuantFormat::q4_1, 2, 64, blocks, "w");
  expect_error<ShapeError>([&] { matrix.project(Tensor<float>::zeros({3, 32})); }, {"(3, 32)", "(R, 64)"});
  expect_error<ValueError>([&] { quant::parse_quant_format("q5_0"); }, {"'q5_0'", "q8_0, q4_0, q4_1"});
}

TEST(QuantizedMatrix, NanInputStaysNanAndZeroRowsGiveZeros) {
  Generator generator(13);
  const Weights w = random_weights(QuantFormat::q8_0, 4, 2, generator);
  const quant::QuantizedMatrix matrix =
      quant::QuantizedMatrix::from_ggml_blocks(quant::QuantFormat::q8_0, 4, 64, ggml_blocks(w), "w");
  std::vector<float> x(2 * 64, 0.0f);
  x[64 + 40] = NAN;
  const std::vector<float> y = matrix.project(Tensor<float>::from_vector({2, 64}, x)).to_vector();
  for (int o = 0; o < 4; ++o) {
    EXPECT_EQ(y[o], 0.0f);
    EXPECT_TRUE(std::isnan(y[4 + o]));
  }
}

}  // namespace
}  // namespace attend
