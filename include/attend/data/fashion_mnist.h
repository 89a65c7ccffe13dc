// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 28x28 grey images of 10 kinds of clothing,
// 60,000 for training and 10,000 for testing, from the Debian package dataset-fashion-mnist
// (gzip IDX files under /usr/share/datasets/fashion-mnist; another directory by option).
//
// Split, fixed and documented: the first 55,000 training images train, the last 5,000 are the
// validation set; the 10,000 test images are only for the final figure.
#pragma once

#include <cstdint>
#include <string>

#include "attend/core/tensor.h"

namespace attend::data {

struct ImageSet {
  Tensor<float> images;  // (N, 28, 28) in [0, 1]
  IndexTensor labels;    // (N) in [0, 10)
};

struct FashionMnist {
  ImageSet train, validation, test;
};

// Reads an IDX file (gzip or plain) with `expected_rank` dimensions and magic 0x0000080<rank>
// (unsigned bytes); throws attend::ValueError naming the file on a bad magic number, rank, size
// or truncation. Returns the dimensions and the bytes.
struct IdxArray {
  Shape shape;
  std::vector<uint8_t> values;
};
IdxArray read_idx(const std::string& path, int expected_rank);

// Loads the four files from `directory` (default: default_fashion_mnist_directory()).
FashionMnist load_fashion_mnist(const std::string& directory = "");
// ATTEND_FASHION_MNIST when set, else the Debian package's directory (io/data_locations.h).
std::string default_fashion_mnist_directory();

// Class names in label order.
const char* fashion_mnist_class_name(int64_t label);

}  // namespace attend::data
