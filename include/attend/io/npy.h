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
#include "attend/io/safetensors.h"

namespace attend::io {

// The bytes of `tensor` (any strides; written row-major) as a .npy file.
std::string npy_bytes(const Tensor<float>& tensor);
// Writes npy_bytes(tensor) to `path` atomically (io/atomic_file.h): IoError when `path` exists
// and `overwrite` is false.
void save_npy(const std::string& path, const Tensor<float>& tensor, bool overwrite = false);

// Reads a .npy file of float32 ('<f4', C order), as npy_bytes writes it. FormatError (io/
// safetensors.h) naming the file for anything else: another magic, version, dtype or order, a
// header that is not the dictionary above, a shape whose element count overflows or disagrees
// with the file's size. IoError when it cannot be read.
Tensor<float> load_npy(const std::string& path);

}  // namespace attend::io
