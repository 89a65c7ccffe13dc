// gguf::Writer: what it writes reads back through gguf::File (metadata, F32 and quantized tensors
// at aligned offsets), QuantizedMatrix's blocks survive to_ggml_blocks / from_ggml_blocks bit for
// bit, and a wrong tensor size, a repeated key or an existing file without overwrite is refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "attend/core/random.h"
#include "attend/gguf/gguf_file.h"
#include "attend/gguf/gguf_writer.h"
#include "attend/io/atomic_file.h"
#include "attend/quant/quantized_matrix.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"

namespace attend {
namespace {

TEST(GgufWriter, WritesWhatTheReaderReadsBack) {
  testing::TempDir directory;
  const std::string path = (directory.path() / "model.gguf").string();
  Generator g(3);
  const Tensor<float> dense = Tensor<float>::randn({3, 5}, g), vector = Tensor<float>::randn({7}, g);
  const Tensor<float> weight = Tensor<float>::randn({20, 64}, g);  // rows that do not fill a group of 16 twice
  gguf::Writer writer;
  writer.add_string("general.architecture", "bert");
  writer.add_uint32("test.count", 42);
  writer.add_float32("test.scale", 0.5f);
  writer.add_f32_tensor("dense", dense);
  writer.add_f32_tensor("vector", vector);
  std::vector<quant::QuantizedMatrix> matrices;
  for (const auto& [name, format, type] : {std::tuple{"q8", quant::QuantFormat::q8_0, gguf::TensorType::kQ8_0},
                                           std::tuple{"q40", quant::QuantFormat::q4_0, gguf::TensorType::kQ4_0},
                                           std::tuple{"q41", quant::QuantFormat::q4_1, gguf::TensorType::kQ4_1}}) {
    matrices.push_back(quant::QuantizedMatrix::quantize(format, weight, name));
    writer.add_tensor(name, type, {20, 64}, matrices.back().to_ggml_blocks());
  }
  writer.write(path, /*overwrite=*/false);

  const gguf::File file = gguf::File::open(path);
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(file.string("general.architecture"), "bert");
  EXPECT_EQ(file.integer("test.count"), 42);
  EXPECT_EQ(file.real("test.scale"), 0.5);
  ASSERT_EQ(file.tensors().size(), 5u);
  EXPECT_EQ(file.dequantize(file.tensor("dense")).to_vector(), dense.to_vector());
  EXPECT_EQ(file.dequantize(file.tensor("vector")).to_vector(), vector.to_vector());
  for (size_t i = 0; i < matrices.size(); ++i) {
    const gguf::TensorInfo& info = file.tensors()[2 + i];
    EXPECT_EQ(info.shape(), (Shape{20, 64}));
    EXPECT_EQ(info.offset % 32, 0u) << info.name;
    // The blocks read back are the ones written, and widen as the matrix does.
    const auto back =
        quant::QuantizedMatrix::from_ggml_blocks(matrices[i].format(), 20, 64, file.bytes(info), info.name);
    EXPECT_EQ(back.to_ggml_blocks(), matrices[i].to_ggml_blocks()) << info.name;
    EXPECT_EQ(file.dequantize(info).to_vector(), matrices[i].dequantize().to_vector()) << info.name;
  }
}

TEST(GgufWriter, RefusesWrongSizesRepeatedNamesAndAnExistingFile) {
  gguf::Writer writer;
  expect_error<ValueError>(
      [&] {
        writer.add_tensor("w", gguf::TensorType::kQ8_0, {2, 64}, std::vector<std::byte>(10));
      },
      {"tensor 'w' (2, 64) of Q8_0 needs 136 bytes, got 10"});
  expect_error<ValueError>(
      [&] {
        writer.add_tensor("w", gguf::TensorType::kQ8_0, {2, 48}, std::vector<std::byte>(102));
      },
      {"does not split into Q8_0 blocks of 32 values"});
  writer.add_string("key", "a");
  expect_error<ValueError>([&] { writer.add_uint32("key", 1); }, {"metadata key 'key' added twice"});
  writer.add_f32_tensor("t", Tensor<float>::ones({2}));
  expect_error<ValueError>([&] { writer.add_f32_tensor("t", Tensor<float>::ones({2})); }, {"tensor 't' added twice"});

  testing::TempDir directory;
  const std::string path = (directory.path() / "kept.gguf").string();
  std::ofstream(path) << "the user's file";
  EXPECT_THROW(writer.write(path, /*overwrite=*/false), io::IoError);
  std::ifstream kept(path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(kept), {}), "the user's file");
  writer.write(path, /*overwrite=*/true);
  EXPECT_EQ(gguf::File::open(path).string("key"), "a");
}

}  // namespace
}  // namespace attend
