// Checkpoints as safetensors files (Hugging Face's format, readable by the `safetensors` Python
// package, PyTorch, JAX and candle):
//
//   bytes [0, 8)        N, the header length, a little-endian uint64
//   bytes [8, 8 + N)    the header: a UTF-8 JSON object
//                         { "__metadata__": { "key": "value", ... },            (optional)
//                           "name": { "dtype": "F32", "shape": [2, 3],
//                                     "data_offsets": [begin, end] }, ... }
//   bytes [8 + N, end)  the data buffer; each tensor is row-major, little-endian, at
//                       [begin, end) relative to the start of the buffer
//
// Loading trusts nothing: every size is checked (with overflow checks) before it is used, the
// tensors' byte ranges must tile the buffer exactly, and the first problem found is thrown as
// FormatError naming the file. Saving is atomic (see atomic_file.h). docs/checkpoints.md lists
// every check.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "attend/core/error.h"
#include "attend/core/tensor.h"
#include "attend/io/atomic_file.h"
#include "attend/nn/module.h"

namespace attend::io {

// A file that is not a valid safetensors file (or one attend cannot represent).
class FormatError : public Error {
 public:
  using Error::Error;
};

// The element types attend stores; the safetensors names are "F32", "F64", "I64" and "U8".
enum class DType { kF32, kF64, kI64, kU8 };

template <typename T>
concept SafetensorsElement =
    std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int64_t> || std::is_same_v<T, uint8_t>;

using AnyTensor = std::variant<Tensor<float>, Tensor<double>, Tensor<int64_t>, Tensor<uint8_t>>;
using NamedTensors = std::vector<std::pair<std::string, AnyTensor>>;
using Metadata = std::map<std::string, std::string>;

std::string_view dtype_name(DType dtype);  // "F32"
int64_t dtype_size(DType dtype);           // bytes per element
DType dtype_of(const AnyTensor& tensor);
Shape shape_of(const AnyTensor& tensor);

template <SafetensorsElement T>
constexpr DType dtype_for() {
  if constexpr (std::is_same_v<T, float>) return DType::kF32;
  if constexpr (std::is_same_v<T, double>) return DType::kF64;
  if constexpr (std::is_same_v<T, int64_t>) return DType::kI64;
  return DType::kU8;
}

// Writes `tensors` (any strides; the file holds them contiguous) and `metadata` to `path`,
// atomically. Throws IoError if `path` exists and `overwrite` is false. Throws ValueError, before
// anything is written, on an undefined tensor, a duplicate or reserved ("__metadata__") name, or
// a name, key or value that is not valid UTF-8.
void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {},
                      bool overwrite = false);

// A loaded file: the tensors in header order (contiguous, 64-byte aligned, not requiring grad)
// and the metadata.
class SafetensorsFile {
 public:
  SafetensorsFile(std::string path, NamedTensors tensors, Metadata metadata);

  const std::string& path() const { return path_; }
  const NamedTensors& tensors() const { return tensors_; }
  const Metadata& metadata() const { return metadata_; }
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return index_.count(name) != 0; }

  // ValueError naming the file and the tensor when `name` is absent.
  const AnyTensor& at(const std::string& name) const;
  // The tensor `name` as Tensor<T> (sharing storage with this file's copy). ValueError when it is
  // absent or has another dtype; ShapeError when `expected_shape` is given and differs.
  template <SafetensorsElement T>
  Tensor<T> get(const std::string& name) const;
  template <SafetensorsElement T>
  Tensor<T> get(const std::string& name, const Shape& expected_shape) const;

 private:
  std::string path_;
  NamedTensors tensors_;
  Metadata metadata_;
  std::map<std::string, size_t> index_;  // name -> position in tensors_
};

// Reads and validates `path`. Throws IoError when it cannot be read or is not a regular file (a
// FIFO, directory or device is refused without being read, so none of them can block), and
// FormatError when it is not a valid safetensors file of F32, F64, I64 and U8 tensors. NaN and
// infinities load as they are; load_module refuses them in parameters.
SafetensorsFile load_safetensors(const std::string& path);

// The row-major index of the first NaN or infinity in `tensor`, or nullopt when every value is
// finite (always for I64 and U8). load_module rejects such parameters; a caller reading other
// float tensors that must be finite (optimizer state, tensors to average) can check them with it.
std::optional<Shape> first_non_finite(const AnyTensor& tensor);

// ---- modules (float and double; the templates are instantiated in safetensors.cc) ----

// Writes every parameter of `module` under its name from named_parameters(), then `extra`
// (optimizer state, step counters, ...). An extra name equal to a parameter name is an error.
template <typename T>
requires std::is_floating_point_v<T>
void save_module(const std::string& path, const nn::Module<T>& module, const NamedTensors& extra = {},
                 const Metadata& metadata = {}, bool overwrite = false);

// What load_module does with tensors in the file that are not parameters of the module.
enum class UnexpectedTensors {
  kReject,               // an error, like PyTorch's load_state_dict(strict=True)
  kReturn,               // handed back in ModuleCheckpoint::extra
  kReturnTrainingState,  // the Trainer's (io/tensor_table.h: "optimizer.*", "rng.*") handed back,
                         // any other an error: a model file or a training checkpoint, nothing else
};

struct ModuleCheckpoint {
  NamedTensors extra;  // the file's tensors that are not parameters, in header order
  Metadata metadata;
};

// Copies every parameter of `module` in place from `path`. All problems (a missing parameter, a
// wrong dtype or shape, a NaN or infinity, and unexpected names under kReject) are reported
// together in one ValueError, and then no parameter has been modified.
template <typename T>
requires std::is_floating_point_v<T> ModuleCheckpoint
load_module(const std::string& path, nn::Module<T>& module, UnexpectedTensors unexpected = UnexpectedTensors::kReject);
// The same from a file already read (its metadata looked at first, say), without reading it again.
template <typename T>
requires std::is_floating_point_v<T> ModuleCheckpoint load_module(
    const SafetensorsFile& file, nn::Module<T>& module, UnexpectedTensors unexpected = UnexpectedTensors::kReject);

}  // namespace attend::io
