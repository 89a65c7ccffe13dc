// The GGUF reader against gguf-py (tests/golden/gguf, written by `bench/peers/run gguf-golden`):
// every metadata value type, the alignment key, and every tensor type attend converts, bitwise
// equal to gguf-py's dequantization; the shipped SmolLM2 file's header and three of its tensors.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include "attend/core/parallel.h"
#include "attend/gguf/dequantize.h"
#include "attend/gguf/gguf_file.h"

namespace attend::gguf {
namespace {

std::string golden(const std::string& name) {
  return (std::filesystem::path(ATTEND_GOLDEN_DIR) / "gguf" / name).string();
}

TEST(GgufFile, ReadsEveryMetadataValueTypeAsGgufPyWroteIt) {
  const File file = File::open(golden("types.gguf"));
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(file.alignment(), 64u);
  EXPECT_EQ(file.string("general.architecture"), "test");
  EXPECT_EQ(file.integer("test.uint8"), 200);
  EXPECT_EQ(file.integer("test.int8"), -100);
  EXPECT_EQ(file.integer("test.uint16"), 60000);
  EXPECT_EQ(file.integer("test.int16"), -30000);
  EXPECT_EQ(file.integer("test.uint32"), 4000000000);
  EXPECT_EQ(file.integer("test.int32"), -2000000000);
  EXPECT_EQ(file.real("test.float32"), static_cast<double>(0.1f));
  EXPECT_EQ(file.real("test.float64"), 0.1);
  EXPECT_TRUE(file.boolean("test.bool"));
  EXPECT_EQ(file.string("test.string"), "h\xc3\xa9llo, \xe4\xb8\x96\xe7\x95\x8c");
  EXPECT_EQ(std::get<uint64_t>(file.find("test.uint64")->data), 18446744073709551615ull);
  EXPECT_EQ(file.integer("test.int64"), -9223372036854775807);
  EXPECT_EQ(file.strings("test.strings"), (std::vector<std::string>{"a", "", "\xc3\xbc b"}));
  EXPECT_EQ(file.integers("test.integers"), (std::vector<int64_t>{1, -2, 3}));
  const Value* nested = file.find("test.nested");
  ASSERT_NE(nested, nullptr);
  EXPECT_EQ(nested->element_type, ValueType::kArray);
  const auto& outer = std::get<std::vector<Value>>(nested->data);
  ASSERT_EQ(outer.size(), 2u);
  EXPECT_EQ(std::get<std::vector<Value>>(outer[1].data).size(), 1u);
  EXPECT_EQ(file.find("test.absent"), nullptr);
}

TEST(GgufFile, TypedAccessRefusesAbsentKeysWrongTypesAndOutOfRangeIntegers) {
  const File file = File::open(golden("types.gguf"));
  EXPECT_THROW(file.string("test.absent"), FormatError);
  EXPECT_THROW(file.string("test.uint8"), FormatError);
  EXPECT_THROW(file.integer("test.string"), FormatError);
  EXPECT_THROW(file.integer("test.uint64"), FormatError);  // above INT64_MAX
  EXPECT_THROW(file.real("test.int32"), FormatError);
  EXPECT_THROW(file.strings("test.integers"), FormatError);
  EXPECT_THROW(file.integers("test.strings"), FormatError);
  try {
    file.boolean("test.string");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("metadata 'test.string' must be a bool, not string"), std::string::npos);
  }
}

TEST(GgufFile, EveryTypeDequantizesBitwiseAsGgufPy) {
  const File file = File::open(golden("types.gguf"));
  int checked = 0;
  for (const TensorInfo& info : file.tensors()) {
    if (info.name.ends_with(".expected")) continue;
    SCOPED_TRACE(info.name);
    EXPECT_EQ(info.offset % 64, 0u);
    const TensorInfo& expected_info = file.tensor(info.name + ".expected");
    ASSERT_EQ(expected_info.type, TensorType::kF32);
    EXPECT_EQ(info.shape(), expected_info.shape());
    EXPECT_EQ(info.shape()[0], 3);  // GGUF's ne = [values, rows] is attend's [rows, values]
    const Tensor<float> values = file.dequantize(info);
    const Tensor<float> expected = file.dequantize(expected_info);
    ASSERT_EQ(values.shape(), expected.shape());
    EXPECT_EQ(std::memcmp(values.data(), expected.data(), sizeof(float) * values.numel()), 0);
    ++checked;
  }
  EXPECT_EQ(checked, 11);
}

TEST(GgufFile, DequantizeRefusesSizesThatDisagree) {
  const std::vector<std::byte> blocks(40);
  std::vector<float> out(64);
  dequantize(TensorType::kQ4_1, blocks, out);
  std::vector<float> wrong(63);
  EXPECT_THROW(dequantize(TensorType::kQ4_1, blocks, wrong), ValueError);
  EXPECT_THROW(dequantize(TensorType::kQ4_1, std::span(blocks).first(39), out), ValueError);
  EXPECT_THROW(dequantize(TensorType::kQ8_K, blocks, out), FormatError);
}

std::string smollm2_path() { return ATTEND_SMOLLM2_PATH; }

TEST(GgufFile, ShippedSmolLM2HeaderAndTensorsMatchGgufPy) {
  if (!std::filesystem::exists(smollm2_path())) GTEST_SKIP() << "no SmolLM2 GGUF (run scripts/setup)";
  const File file = File::open(smollm2_path());
  EXPECT_EQ(file.string("general.architecture"), "llama");
  EXPECT_EQ(file.integer("llama.block_count"), 30);
  EXPECT_EQ(file.integer("llama.attention.head_count_kv"), 3);
  EXPECT_EQ(file.real("llama.rope.freq_base"), 100000.0);
  EXPECT_EQ(file.strings("tokenizer.ggml.tokens").size(), 49152u);
  EXPECT_EQ(file.strings("tokenizer.ggml.merges").size(), 48900u);
  EXPECT_EQ(file.tensors().size(), 272u);
  std::ifstream in(golden("smollm2.json"));
  const auto expected = nlohmann::json::parse(in);
  for (const auto& entry : expected["tensors"]) {
    SCOPED_TRACE(entry["name"].get<std::string>());
    const TensorInfo& info = file.tensor(entry["name"].get<std::string>());
    EXPECT_EQ(tensor_type_name(info.type), entry["type"].get<std::string>());
    EXPECT_EQ(info.shape(), entry["shape"].get<Shape>());
    for (int threads : {1, 2}) {
      ThreadCountGuard guard(threads);
      const Tensor<float> values = file.dequantize(info);
      const auto crc =
          crc32(0, reinterpret_cast<const Bytef*>(values.data()), static_cast<uInt>(values.numel() * sizeof(float)));
      EXPECT_EQ(crc, entry["crc32"].get<uint32_t>());
      for (size_t i = 0; i < 8; ++i) EXPECT_EQ(values.data()[i], entry["first"][i].get<float>());
    }
  }
}

}  // namespace
}  // namespace attend::gguf
