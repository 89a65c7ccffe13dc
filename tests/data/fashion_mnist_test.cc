#include <gtest/gtest.h>

#include <zlib.h>

#include <filesystem>

#include "attend/core/error.h"
#include "attend/data/fashion_mnist.h"
#include "harness/temp_dir.h"

namespace attend::data {
namespace {

std::string write_gz(const testing::TempDir& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  const auto path = dir / name;
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
  return path.string();
}

TEST(FashionMnistData, ReadsIdxAndRejectsBadFiles) {
  const testing::TempDir temp;
  // 2 images of 2x3, then the pixels.
  std::vector<uint8_t> good = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3};
  for (int i = 0; i < 12; ++i) good.push_back(static_cast<uint8_t>(i * 20));
  const auto array = read_idx(write_gz(temp, "good", good), 3);
  EXPECT_EQ(array.shape, (Shape{2, 2, 3}));
  EXPECT_EQ(array.values[11], 220);

  auto expect_bad = [](const std::string& path, int rank, const std::string& fragment) {
    try {
      read_idx(path, rank);
      ADD_FAILURE() << "accepted " << path;
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  std::vector<uint8_t> bad_magic = good;
  bad_magic[2] = 9;
  expect_bad(write_gz(temp, "magic", bad_magic), 3, "not an IDX file");
  expect_bad(write_gz(temp, "rank", good), 1, "not an IDX file");
  std::vector<uint8_t> truncated(good.begin(), good.end() - 3);
  expect_bad(write_gz(temp, "truncated", truncated), 3, "truncated");
  std::vector<uint8_t> extra = good;
  extra.push_back(1);
  expect_bad(write_gz(temp, "extra", extra), 3, "data after");
  std::vector<uint8_t> huge = {0, 0, 8, 3, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 9};
  expect_bad(write_gz(temp, "huge", huge), 3, "allowed");
  expect_bad("/nonexistent/train-images-idx3-ubyte.gz", 3, "dataset-fashion-mnist");
}

TEST(FashionMnistData, TheInstalledDataSetLoadsWithTheDocumentedSplit) {
  if (!std::filesystem::exists(default_fashion_mnist_directory() + "/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "dataset-fashion-mnist not installed";
  }
  const auto data = load_fashion_mnist();
  EXPECT_EQ(data.train.images.shape(), (Shape{55000, 28, 28}));
  EXPECT_EQ(data.validation.labels.shape(), (Shape{5000}));
  EXPECT_EQ(data.test.images.size(0), 10000);
  // The first test image of Fashion-MNIST is an ankle boot (label 9).
  EXPECT_EQ(data.test.labels.data()[0], 9);
  float max_pixel = 0;
  for (int64_t i = 0; i < 28 * 28; ++i) max_pixel = std::max(max_pixel, data.test.images.data()[i]);
  EXPECT_LE(max_pixel, 1.0f);
  EXPECT_GT(max_pixel, 0.5f);
}

}  // namespace
}  // namespace attend::data
