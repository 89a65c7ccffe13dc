// GGUF files (llama.cpp's format for models: metadata, tokenizer and tensors in one file),
// versions 2 and 3, little-endian:
//
//   magic "GGUF" | uint32 version | uint64 tensor_count | uint64 metadata_count
//   metadata_count x { string key | uint32 value_type | value }
//   tensor_count   x { string name | uint32 n_dims | n_dims x uint64 ne | uint32 type | uint64 offset }
//   padding to `general.alignment` (default 32)
//   tensor data: each tensor at data_start + offset (offsets aligned), blocks of its type
//
//   string = uint64 length | bytes (not NUL-terminated)
//   value  = one of the 13 value types below; an array is uint32 element_type | uint64 count | values
//
// ne[0] is the fastest-varying dimension (a row's length), so a GGUF tensor with ne = [576, 49152]
// is attend's [49152, 576]. Opening memory-maps the file and checks everything it reads with
// checked arithmetic: lengths and counts against the bytes left, each tensor's byte range inside
// the file and after the header, element counts against its type's block size. The first problem
// is thrown as FormatError naming the file and the offset; nothing is allocated from a size the
// file declares before that size is checked against the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "attend/core/error.h"
#include "attend/core/tensor.h"

namespace attend::gguf {

// A file that is not a valid GGUF file, or one that attend cannot represent.
class FormatError : public Error {
 public:
  using Error::Error;
};

enum class ValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};
std::string_view value_type_name(ValueType type);  // "uint32", "array", ...

// One metadata value. Integers keep their sign class (uint64 values above INT64_MAX stay exact),
// floats are widened to double (exactly), arrays hold their elements (possibly arrays).
struct Value {
  ValueType type = ValueType::kUint8;
  ValueType element_type = ValueType::kUint8;  // arrays only: the type of every element
  std::variant<uint64_t, int64_t, double, bool, std::string, std::vector<Value>> data;
};

// ggml's tensor types (the numbering is the file format's).
enum class TensorType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kBF16 = 30,
};

// A type's block: `elements` values stored in `bytes` bytes (F32: 1 in 4; Q4_1: 32 in 20).
struct BlockLayout {
  int64_t elements = 0;
  int64_t bytes = 0;
};
// The layout of a type attend knows; throws FormatError for a number it does not.
BlockLayout block_layout(TensorType type);
std::string_view tensor_type_name(TensorType type);  // "Q4_1"; "type 42" for an unknown number
// Whether dequantize() converts this type to float32.
bool can_dequantize(TensorType type);

struct TensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // GGUF order: ne[0] is a row's length
  TensorType type = TensorType::kF32;
  uint64_t offset = 0;  // from the start of the file (already past the data section's start)
  uint64_t bytes = 0;   // elements / block elements x block bytes

  int64_t elements() const;
  Shape shape() const;  // attend's order: ne reversed, [ne[n-1], ..., ne[0]]
};

class File {
 public:
  // Memory-maps `path` and parses its header; throws IoError if it cannot be read and
  // FormatError if it is not a GGUF file attend can read.
  static File open(const std::string& path);
  File(File&&) noexcept;
  File& operator=(File&&) noexcept;
  ~File();

  const std::string& path() const;
  uint32_t version() const;
  uint64_t alignment() const;

  // Metadata, in file order.
  const std::vector<std::pair<std::string, Value>>& metadata() const;
  const Value* find(std::string_view key) const;  // nullptr when absent
  // Typed access; each throws FormatError naming the key when it is absent or has another type
  // (any integer type for integer(), with its value range checked; float32/64 for real()).
  const std::string& string(std::string_view key) const;
  int64_t integer(std::string_view key) const;
  double real(std::string_view key) const;
  bool boolean(std::string_view key) const;
  std::vector<std::string> strings(std::string_view key) const;  // an array of strings
  std::vector<int64_t> integers(std::string_view key) const;     // an array of integers

  // Tensors, in file order.
  const std::vector<TensorInfo>& tensors() const;
  const TensorInfo* find_tensor(std::string_view name) const;  // nullptr when absent
  const TensorInfo& tensor(std::string_view name) const;       // FormatError when absent
  // The tensor's raw blocks, inside the mapping (valid while the File lives).
  std::span<const std::byte> bytes(const TensorInfo& info) const;
  // The tensor converted to float32, in attend's order (shape()). Throws FormatError for a type
  // that can_dequantize() refuses, naming the tensor and its type.
  Tensor<float> dequantize(const TensorInfo& info) const;

  struct State;  // the mapping and what was parsed from it (gguf_file.cc)

 private:
  explicit File(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace attend::gguf
