// What the GGUF reader refuses: each field of a small valid file broken in turn, every
// truncation, and files that are not regular. Each is a FormatError (or IoError) naming the
// problem; none crashes or allocates what the file declares before checking it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>

#include "attend/gguf/gguf_file.h"
#include "attend/io/atomic_file.h"
#include "gguf/gguf_bytes.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"

namespace attend::gguf {
namespace {

using testing::GgufBytes;
using testing::SmallGguf;

class GgufCorrupt : public ::testing::Test {
 protected:
  std::string write(const GgufBytes& bytes) {
    const std::string path = dir_.file("model" + std::to_string(files_++) + ".gguf");
    bytes.write(path);
    return path;
  }
  void expect_refused(const GgufBytes& bytes, const std::vector<std::string>& fragments) {
    const std::string path = write(bytes);
    expect_error<FormatError>([&] { File::open(path); }, fragments);
  }
  void expect_refused(const std::function<void(SmallGguf&)>& change, const std::vector<std::string>& fragments) {
    SmallGguf small;
    change(small);
    expect_refused(small.build(), fragments);
  }
  attend::testing::TempDir dir_;
  int files_ = 0;
};

TEST_F(GgufCorrupt, TheSmallFileIsValid) {
  const File file = File::open(write(SmallGguf{}.build()));
  EXPECT_EQ(file.string("general.architecture"), "llama");
  const Tensor<float> weight = file.dequantize(file.tensor("weight"));
  EXPECT_EQ(weight.shape(), (Shape{2, 4}));
  EXPECT_EQ(weight.data()[7], 7.0f);
}

TEST_F(GgufCorrupt, HeaderFields) {
  expect_refused([](SmallGguf& g) { g.magic = "GGML"; }, {"model0.gguf", "not a GGUF file"});
  expect_refused([](SmallGguf& g) { g.version = 1; }, {"version 1 is not supported"});
  expect_refused([](SmallGguf& g) { g.version = 4; }, {"unsupported GGUF version 4"});
  expect_refused([](SmallGguf& g) { g.version = 0x03000000; }, {"big-endian"});
  expect_refused([](SmallGguf& g) { g.metadata_count = uint64_t{1} << 60; }, {"metadata entries cannot fit"});
  expect_refused([](SmallGguf& g) { g.tensor_count = uint64_t{1} << 60; }, {"tensors cannot fit"});
  expect_refused([](SmallGguf& g) { g.metadata_count = 2; }, {"needs"});
}

TEST_F(GgufCorrupt, MetadataFields) {
  expect_refused([](SmallGguf& g) { g.key = ""; }, {"a metadata key is empty"});
  expect_refused([](SmallGguf& g) { g.key = "bad\xff"; }, {"not valid UTF-8"});
  expect_refused([](SmallGguf& g) { g.value_type = 13; }, {"unknown value type 13"});
  GgufBytes two_keys;
  two_keys.u8('G').u8('G').u8('U').u8('F').u32(3).u64(0).u64(2);
  two_keys.text("a").u32(4).u32(1).text("a").u32(4).u32(2);
  expect_refused(two_keys, {"'a' appears twice"});
  GgufBytes bad_bool;
  bad_bool.u8('G').u8('G').u8('U').u8('F').u32(3).u64(0).u64(1).text("flag").u32(7).u8(2);
  expect_refused(bad_bool, {"a bool must be 0 or 1, not 2"});
  GgufBytes huge_array;
  huge_array.u8('G').u8('G').u8('U').u8('F').u32(3).u64(0).u64(1).text("list").u32(9).u32(8).u64(uint64_t{1} << 61);
  expect_refused(huge_array, {"an array of 2305843009213693952 string values does not fit"});
  GgufBytes deep;
  deep.u8('G').u8('G').u8('U').u8('F').u32(3).u64(0).u64(1).text("deep").u32(9);
  for (int level = 0; level < 9; ++level) deep.u32(9).u64(1);
  expect_refused(deep, {"nested more than 8 levels"});
  GgufBytes alignment;
  alignment.u8('G').u8('G').u8('U').u8('F').u32(3).u64(0).u64(1).text("general.alignment").u32(4).u32(48);
  expect_refused(alignment, {"general.alignment 48 is not a power of two"});
}

TEST_F(GgufCorrupt, TensorFields) {
  expect_refused([](SmallGguf& g) { g.ne = {}; }, {"tensor 'weight' has 0 dimensions"});
  expect_refused([](SmallGguf& g) { g.ne = {1, 1, 1, 1, 8}; }, {"has 5 dimensions"});
  expect_refused([](SmallGguf& g) { g.tensor_type = 42; }, {"tensor 'weight' has the unknown type 42"});
  expect_refused([](SmallGguf& g) { g.tensor_type = 4; }, {"unknown type 4"});  // Q4_2, removed from ggml
  expect_refused([](SmallGguf& g) { g.tensor_type = 2; }, {"rows of 4 values, not a multiple of its blocks of 32"});
  expect_refused([](SmallGguf& g) { g.offset = 16; }, {"data offset 16, not a multiple of the alignment 32"});
  expect_refused([](SmallGguf& g) { g.offset = 32; }, {"runs past the end of the file"});
  expect_refused([](SmallGguf& g) { g.data_floats = 7; }, {"runs past the end of the file"});
  expect_refused([](SmallGguf& g) { g.ne = {uint64_t{1} << 40, uint64_t{1} << 40}; }, {"more elements than fit"});
  expect_refused([](SmallGguf& g) { g.ne = {uint64_t{1} << 63}; }, {"more elements than fit"});
  // 2^62 float32 values fit in int64 but their 2^64 bytes do not (the fuzzer's finding: the byte
  // count wrapped to 0 and the tensor seemed to fit in the file).
  expect_refused([](SmallGguf& g) { g.ne = {uint64_t{1} << 62}; }, {"more bytes than fit in 64 bits"});
  expect_refused([](SmallGguf& g) { g.tensor_name = ""; }, {"a tensor name is empty"});
}

TEST_F(GgufCorrupt, TensorsThatOverlapOrRepeatAName) {
  const auto two_tensors = [](const std::string& second_name, uint64_t second_offset) {
    GgufBytes b;
    b.u8('G').u8('G').u8('U').u8('F').u32(3).u64(2).u64(0);
    b.text("first").u32(1).u64(16).u32(0).u64(0);
    b.text(second_name).u32(1).u64(8).u32(0).u64(second_offset).pad_to(32);
    for (int i = 0; i < 32; ++i) b.f32(0);
    return b;
  };
  EXPECT_NO_THROW(File::open(write(two_tensors("second", 64))));
  expect_refused(two_tensors("second", 32), {"tensors 'first' and 'second' overlap"});
  expect_refused(two_tensors("first", 64), {"a tensor name 'first' appears twice"});
}

TEST_F(GgufCorrupt, EveryTruncationIsRefused) {
  const std::string whole = SmallGguf{}.build().bytes();
  for (size_t length = 0; length < whole.size(); ++length) {
    SCOPED_TRACE(length);
    GgufBytes prefix;
    for (size_t i = 0; i < length; ++i) prefix.u8(static_cast<uint8_t>(whole[i]));
    const std::string path = write(prefix);
    EXPECT_THROW(File::open(path), FormatError);
    std::filesystem::remove(path);
  }
}

TEST_F(GgufCorrupt, OnlyRegularFilesAreRead) {
  expect_error<io::IoError>([&] { File::open(dir_.file("absent.gguf")); }, {"absent.gguf", "No such file"});
  expect_error<io::IoError>([&] { File::open(dir_.path().string()); }, {"not a regular file"});
  const std::string fifo = dir_.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_error<io::IoError>([&] { File::open(fifo); }, {"not a regular file"});
}

}  // namespace
}  // namespace attend::gguf
