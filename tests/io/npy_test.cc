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

TEST(Npy, LoadReadsWhatSaveWrote) {
  io_fixtures::TempDir dir;
  const auto x = Tensor32::from_vector({2, 3}, {1, -2, 3.5f, 4, 5, 6});
  io::save_npy(dir.file("x.npy"), x);
  const Tensor32 back = io::load_npy(dir.file("x.npy"));
  EXPECT_EQ(back.shape(), (Shape{2, 3}));
  EXPECT_EQ(back.to_vector(), x.to_vector());
  io::save_npy(dir.file("v.npy"), Tensor32::ones({5}));
  EXPECT_EQ(io::load_npy(dir.file("v.npy")).shape(), (Shape{5}));
}

// A version 1.0 file with this header dictionary (padded as numpy pads it) and data.
std::string with_header(std::string header, const std::string& data) {
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  return std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size() & 0xff) +
         static_cast<char>(header.size() >> 8) + header + data;
}

// numpy.save pads a header whose length is 63 mod 64 with 64 more spaces than npy_bytes does;
// both load.
TEST(Npy, LoadReadsEitherPadding) {
  io_fixtures::TempDir dir;
  const std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
  std::string padded = header + std::string(63 - (10 + header.size()) % 64 + 64, ' ') + "\n";
  const float value = 2.5f;
  io_fixtures::write_bytes(dir.file("p.npy"), std::string("\x93NUMPY\x01\x00", 8) +
                                                  static_cast<char>(padded.size() & 0xff) +
                                                  static_cast<char>(padded.size() >> 8) + padded +
                                                  std::string(reinterpret_cast<const char*>(&value), 4));
  EXPECT_EQ(io::load_npy(dir.file("p.npy")).to_vector(), std::vector<float>{2.5f});
}

TEST(Npy, LoadRefusesWhatItCannotRead) {
  io_fixtures::TempDir dir;
  const std::string good = io::npy_bytes(Tensor32::ones({2, 2}));
  const auto refused = [&](const std::string& bytes, const std::string& message) {
    io_fixtures::write_bytes(dir.file("bad.npy"), bytes);
    expect_error<io::FormatError>([&] { io::load_npy(dir.file("bad.npy")); }, {"bad.npy", message});
  };
  refused("PK\x03\x04 a zip file", "not a .npy file");
  refused(good.substr(0, good.size() - 1), "shape (2, 2) needs 16 bytes of data, the file has 15");
  refused(good + "x", "the file has 17");
  std::string doubles = good;
  doubles.replace(doubles.find("<f4"), 3, "<f8");
  refused(doubles, "float32 ('<f4')");
  refused(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", ""),
          "the shape's element count overflows");
  refused(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -2), }", ""), "not a tuple");
  // One spelling of each header, numpy's: a later key that Python would read as the one in force
  // (fortran_order True: the data transposed) is refused, not ignored; so are shapes Python
  // would read otherwise ("(4)" is the integer 4) and a header without its final newline.
  refused(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'fortran_order': True, }",
                      good.substr(good.size() - 16)),
          "more than descr, fortran_order and shape");
  refused(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4), }", good.substr(good.size() - 16)),
          "not a tuple");
  refused(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (02, 2), }", good.substr(good.size() - 16)),
          "not a tuple");
  std::string unterminated = good;
  unterminated[unterminated.find('\n')] = ' ';
  refused(unterminated, "does not end in spaces and a newline");
  std::string version = good;
  version[6] = 2;
  refused(version, "format version 2.0");
  expect_error<io::IoError>([&] { io::load_npy(dir.file("absent.npy")); }, {"absent.npy"});
}

}  // namespace
}  // namespace attend
