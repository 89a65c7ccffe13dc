// NumPy's .npy format (version 1.0), for arrays that Python reads with numpy.load:
//
//   "\x93NUMPY" 0x01 0x00               magic and version
//   HEADER_LEN                          uint16, little-endian
//   "{'descr': '<f4', 'fortran_order': False, 'shape': (N, E), }"  padded with spaces and a
//                                       final '\n' so that the data starts at a multiple of 64
//   the elements, row-major, little-endian
#pragma once

#include <string>

#include "attend/core/tensor.h"

namespace attend::io {

// The bytes of `tensor` (any strides; written row-major) as a .npy file.
std::string npy_bytes(const Tensor<float>& tensor);
// Writes npy_bytes(tensor) to `path` atomically (io/atomic_file.h): IoError when `path` exists
// and `overwrite` is false.
void save_npy(const std::string& path, const Tensor<float>& tensor, bool overwrite = false);

}  // namespace attend::io
