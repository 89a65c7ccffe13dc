// A whole file mapped read-only into memory (POSIX mmap), closed and unmapped on destruction.
// Only regular files are mapped: a FIFO or a device is refused before it is opened for reading.
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace attend::gguf {

class MappedFile {
 public:
  // Throws io::IoError naming `path` when it is not a regular file or cannot be mapped.
  explicit MappedFile(const std::string& path);
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }

 private:
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace attend::gguf
