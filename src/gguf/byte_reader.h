// A cursor over untrusted little-endian bytes: every read checks that the bytes are there and
// throws FormatError naming the file, what was being read and the offset when they are not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "attend/gguf/gguf_file.h"

namespace attend::gguf {

class ByteReader {
 public:
  ByteReader(std::string path, std::span<const std::byte> bytes) : path_(std::move(path)), bytes_(bytes) {}

  uint64_t offset() const { return offset_; }
  uint64_t remaining() const { return bytes_.size() - offset_; }
  const std::string& path() const { return path_; }

  template <typename T>
  T read(std::string_view what) {
    require(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return value;
  }

  // A GGUF string: uint64 length, then that many bytes.
  std::string read_string(std::string_view what) {
    const uint64_t length = read<uint64_t>(what);
    require(length, what);
    std::string text(reinterpret_cast<const char*>(bytes_.data() + offset_), length);
    offset_ += length;
    return text;
  }

  // Throws unless `count` more bytes are there.
  void require(uint64_t count, std::string_view what) const {
    if (count > remaining()) {
      fail<FormatError>("'{}': {} at offset {} needs {} bytes, but the file ends {} bytes later", path_, what, offset_,
                        count, remaining());
    }
  }

  [[noreturn]] void error(std::string_view message) const {
    fail<FormatError>("'{}': {} (at offset {})", path_, message, offset_);
  }

 private:
  std::string path_;
  std::span<const std::byte> bytes_;
  uint64_t offset_ = 0;
};

}  // namespace attend::gguf
