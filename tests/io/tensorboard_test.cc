// TensorBoard event files: the CRC against known answers, and the files read back by the
// `tensorboard` package from PyPI (tests/io/tensorboard_read.py).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attend/io/atomic_file.h"
#include "attend/io/tensorboard.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"

namespace attend {
namespace {

namespace fs = std::filesystem;

// A 3 x 2 red RGB image.
const std::vector<uint8_t> kPng = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0x12, 0x16, 0xf1, 0x4d, 0x00, 0x00, 0x00, 0x10, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00, 0x41, 0x0c, 0x70, 0x16, 0x00, 0x41, 0xd2, 0x05, 0xfb,
    0x87, 0xf0, 0xb9, 0x48, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

TEST(Crc32c, KnownAnswers) {
  // The check value of CRC-32C (RFC 3720 appendix B.4 and the CRC catalogue).
  EXPECT_EQ(io::crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(io::crc32c("", 0), 0u);
  const std::vector<uint8_t> zeros(32, 0);  // RFC 3720 B.4: 32 bytes of zeros
  EXPECT_EQ(io::crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
}

TEST(TensorBoardWriter, ScalarsAndImagesReadBackByTensorBoard) {
  const char* source = std::getenv("ATTEND_SOURCE_DIR");
  if (source == nullptr) GTEST_SKIP() << "ATTEND_SOURCE_DIR is not set (run through ctest)";
  const testing::TempDir temp;
  const fs::path dir = temp / "tb";
  {
    io::TensorBoardWriter writer(dir.string());
    for (int step = 0; step < 5; ++step) writer.add_scalar("train/loss", 1.0 / (step + 1), step * 10);
    writer.add_scalar("dev/wer", 0.25, 40);
    writer.add_png("attention/cross", kPng, 2, 3, 3, 40);
    writer.flush();
  }
  // The project's Python (ATTEND_TEST_PYTHON, tests/CMakeLists.txt), which has tensorboard.
  const std::string command =
      fmt::format("'{}' '{}/tests/io/tensorboard_read.py' '{}'", ATTEND_TEST_PYTHON, source, dir.string());
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe.get())) output.append(buffer, n);
  ASSERT_FALSE(output.empty()) << command;
  const nlohmann::json read = nlohmann::json::parse(output);
  const auto& loss = read["scalars"]["train/loss"];
  ASSERT_EQ(loss.size(), 5u) << output;
  for (int step = 0; step < 5; ++step) {
    EXPECT_EQ(loss[step][0].get<int>(), step * 10);
    EXPECT_FLOAT_EQ(loss[step][1].get<float>(), 1.0f / (step + 1));
  }
  EXPECT_FLOAT_EQ(read["scalars"]["dev/wer"][0][1].get<float>(), 0.25f);
  const auto& image = read["images"]["attention/cross"];
  ASSERT_EQ(image.size(), 1u) << output;
  EXPECT_EQ(image[0][0].get<int>(), 40);
  EXPECT_EQ(image[0][1].get<int>(), 2);
  EXPECT_EQ(image[0][2].get<int>(), 3);
  std::string hex;
  for (uint8_t byte : kPng) hex += fmt::format("{:02x}", byte);
  EXPECT_EQ(image[0][3].get<std::string>(), hex);
}

TEST(TensorBoardWriter, RejectsBadImagesAndUnwritableDirectories) {
  const testing::TempDir temp;
  io::TensorBoardWriter writer(temp.file("tb"));
  expect_error<ValueError>([&] { writer.add_png("x", {1, 2, 3}, 2, 3, 3, 0); }, {"'x'", "not a PNG"});
  expect_error<ValueError>([&] { writer.add_png("x", kPng, 2, 3, 2, 0); }, {"'x'", "2 x 3 x 2"});
  expect_error<io::IoError>([&] { io::TensorBoardWriter("/proc/attend_cannot_be_here"); },
                            {"/proc/attend_cannot_be_here"});
}

}  // namespace
}  // namespace attend
