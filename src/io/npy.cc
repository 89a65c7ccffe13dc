// .npy writing (the layout is in io/npy.h).
#include "attend/io/npy.h"

#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/io/atomic_file.h"

namespace attend::io {

namespace {

[[noreturn]] void npy_error(const std::string& path, const std::string& what) {
  throw FormatError(fmt::format("load_npy: '{}': {}", path, what));
}

// The shape's tuple as numpy writes it: "(2, 3)", "(4,)", "()".
std::string shape_tuple(const Shape& shape) {
  std::string text;
  for (const int64_t size : shape) text += fmt::format("{}, ", size);
  if (shape.size() > 1) text.erase(text.size() - 2);  // (N, E); a 1-D shape keeps its comma: (N,)
  if (shape.size() == 1) text.pop_back();
  return "(" + text + ")";
}

// "(2, 3)" or "(4,)" or "()" -> the sizes; nullopt unless it is such a tuple spelled as numpy
// spells it (so "(4)", "(04,)" or "(+4,)", which Python would read otherwise or not at all, are
// refused, not guessed).
std::optional<Shape> parse_shape_tuple(std::string_view text) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') return std::nullopt;
  std::string_view inner = text.substr(1, text.size() - 2);
  Shape shape;
  while (!inner.empty()) {
    int64_t value = 0;
    const auto [end, error] = std::from_chars(inner.data(), inner.data() + inner.size(), value);
    if (error != std::errc() || value < 0) return std::nullopt;
    shape.push_back(value);
    inner.remove_prefix(static_cast<size_t>(end - inner.data()));
    if (!inner.empty() && inner.front() != ',') return std::nullopt;
    if (!inner.empty()) inner.remove_prefix(1);
    if (!inner.empty() && inner.front() == ' ') inner.remove_prefix(1);
  }
  if (shape_tuple(shape) != text) return std::nullopt;
  return shape;
}

// The header after the shape: ", }", then spaces and "\n" (numpy.save's padding). Anything else,
// such as a second 'fortran_order' key that Python would read as the one in force, is refused.
bool is_header_end(std::string_view rest) {
  if (rest.substr(0, 3) != ", }" || rest.empty() || rest.back() != '\n') return false;
  return rest.substr(3, rest.size() - 4).find_first_not_of(' ') == std::string_view::npos;
}

}  // namespace

std::string npy_bytes(const Tensor<float>& tensor) {
  std::string header =
      fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': {}, }}", shape_tuple(tensor.shape()));
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

Tensor<float> load_npy(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) fail<IoError>("load_npy: cannot read '{}'", path);
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) fail<IoError>("load_npy: cannot read '{}'", path);
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    npy_error(path, "not a .npy file (no \\x93NUMPY magic)");
  if (bytes[6] != 1 || bytes[7] != 0) {
    npy_error(path, fmt::format("format version {}.{}; attend reads 1.0", static_cast<int>(bytes[6]),
                                static_cast<int>(bytes[7])));
  }
  const size_t header_length =
      static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
  if (10 + header_length > bytes.size()) npy_error(path, "the header runs past the end of the file");
  const std::string header = bytes.substr(10, header_length);
  const std::string prefix = "{'descr': '<f4', 'fortran_order': False, 'shape': ";
  if (header.compare(0, prefix.size(), prefix) != 0) {
    npy_error(path, "attend reads float32 ('<f4') arrays in C order written as numpy.save writes them; the header is " +
                        header.substr(0, 80));
  }
  const size_t close = header.find(')', prefix.size());
  const std::optional<Shape> shape = close == std::string::npos
                                         ? std::nullopt
                                         : parse_shape_tuple(header.substr(prefix.size(), close + 1 - prefix.size()));
  if (!shape) npy_error(path, "the header's shape is not a tuple of non-negative integers as numpy writes it");
  if (!is_header_end(std::string_view(header).substr(close + 1))) {
    npy_error(path, "the header has more than descr, fortran_order and shape, or does not end in spaces and a newline");
  }
  int64_t count = 1;
  for (const int64_t size : *shape) {
    if (__builtin_mul_overflow(count, size, &count)) npy_error(path, "the shape's element count overflows");
  }
  const size_t data = 10 + header_length;
  if (count > static_cast<int64_t>((bytes.size() - data) / sizeof(float)) ||
      bytes.size() - data != static_cast<size_t>(count) * sizeof(float)) {
    npy_error(path, fmt::format("shape {} needs {} bytes of data, the file has {}", shape_string(*shape),
                                static_cast<double>(count) * sizeof(float), bytes.size() - data));
  }
  Tensor<float> tensor = Tensor<float>::empty(*shape);
  std::memcpy(tensor.data(), bytes.data() + data, static_cast<size_t>(count) * sizeof(float));
  return tensor;
}

}  // namespace attend::io
