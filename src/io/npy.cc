// .npy writing (the layout is in io/npy.h).
#include "attend/io/npy.h"

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/io/atomic_file.h"

namespace attend::io {

std::string npy_bytes(const Tensor<float>& tensor) {
  std::string shape;
  for (const int64_t size : tensor.shape()) shape += fmt::format("{}, ", size);
  if (tensor.rank() > 1) shape.erase(shape.size() - 2);  // (N, E); a 1-D shape keeps its comma: (N,)
  if (tensor.rank() == 1) shape.pop_back();
  std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", shape);
  const size_t preamble = 10;  // magic (6), version (2), HEADER_LEN (2)
  header.append(63 - (preamble + header.size()) % 64, ' ');
  header += '\n';
  ATTEND_CHECK(header.size() <= 65535, ValueError, "npy_bytes: shape {} makes too long a header",
               shape_string(tensor.shape()));
  std::string bytes = "\x93NUMPY\x01";
  bytes += '\0';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  const std::vector<float> values = tensor.to_vector();
  bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return bytes;
}

void save_npy(const std::string& path, const Tensor<float>& tensor, bool overwrite) {
  const std::string bytes = npy_bytes(tensor);
  AtomicFile file(path, overwrite);
  file.write(bytes.data(), bytes.size());
  file.commit();
}

}  // namespace attend::io
