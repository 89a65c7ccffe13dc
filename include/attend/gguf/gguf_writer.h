// Writes GGUF files (version 3, the layout in gguf_file.h) for `attend quantize`: metadata of
// strings, unsigned integers and float32, then tensors of F32 or GGML's quantized blocks, each
// at an offset aligned to general.alignment (32), in one atomic write (io/atomic_file.h: a
// temporary file renamed over `path`; an existing file is replaced only when asked).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "attend/core/tensor.h"
#include "attend/gguf/gguf_file.h"

namespace attend::gguf {

class Writer {
 public:
  // ValueError for a key already added.
  void add_string(const std::string& key, const std::string& value);
  void add_uint32(const std::string& key, uint32_t value);
  void add_float32(const std::string& key, float value);
  // A tensor of attend's shape (rows, cols): GGUF's ne = [cols, rows]. ValueError unless `bytes`
  // holds exactly the blocks of that many elements of `type`, or for a name already added.
  void add_tensor(const std::string& name, TensorType type, const Shape& shape, std::vector<std::byte> bytes);
  void add_f32_tensor(const std::string& name, const Tensor<float>& tensor);

  // The file, atomically; io::IoError when `path` exists and !overwrite, or the write fails.
  void write(const std::string& path, bool overwrite) const;

 private:
  struct Entry {
    std::string key;
    ValueType type;
    std::string text;  // kString
    uint32_t unsigned_value = 0;
    float real = 0;
  };
  struct Item {
    std::string name;
    TensorType type;
    Shape shape;
    std::vector<std::byte> bytes;
  };
  void check_new_key(const std::string& key) const;
  std::vector<Entry> metadata_;
  std::vector<Item> tensors_;
};

}  // namespace attend::gguf
