// .npy bytes: the magic, the header numpy.load parses, the 64-byte alignment and the data.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "attend/io/atomic_file.h"
#include "attend/io/npy.h"
#include "harness/expect_error.h"
#include "io/io_fixtures.h"

namespace attend {
namespace {

TEST(Npy, WritesAVersionOneHeaderAndTheRowsInOrder) {
  const auto x = Tensor32::from_vector({3, 2}, {1, 2, 3, 4, 5, 6}).transpose(0, 1);  // (2, 3), strided
  const std::string bytes = io::npy_bytes(x);
  ASSERT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t header_length = static_cast<uint8_t>(bytes[8]) | static_cast<uint8_t>(bytes[9]) << 8;
  EXPECT_EQ((10 + header_length) % 64, 0u);
  const std::string header = bytes.substr(10, header_length);
  EXPECT_EQ(header.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0), 0u) << header;
  EXPECT_EQ(header.back(), '\n');
  ASSERT_EQ(bytes.size(), 10 + header_length + 6 * sizeof(float));
  float values[6];
  std::memcpy(values, bytes.data() + 10 + header_length, sizeof(values));
  EXPECT_EQ(std::vector<float>(values, values + 6), (std::vector<float>{1, 3, 5, 2, 4, 6}));
}

TEST(Npy, OneDimensionalShapesKeepTheirComma) {
  const std::string bytes = io::npy_bytes(Tensor32::zeros({4}));
  EXPECT_NE(bytes.find("'shape': (4,), }"), std::string::npos);
}

TEST(Npy, SaveRefusesToOverwrite) {
  io_fixtures::TempDir dir;
  const std::string path = dir.file("a.npy");
  io::save_npy(path, Tensor32::zeros({1, 2}));
  expect_error<io::IoError>([&] { io::save_npy(path, Tensor32::ones({1, 2})); }, {"a.npy"});
  EXPECT_EQ(io_fixtures::read_bytes(path), io::npy_bytes(Tensor32::zeros({1, 2})));
  io::save_npy(path, Tensor32::ones({1, 2}), true);
  EXPECT_EQ(io_fixtures::read_bytes(path), io::npy_bytes(Tensor32::ones({1, 2})));
}

}  // namespace
}  // namespace attend
