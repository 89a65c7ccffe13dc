// GGUF files built byte by byte, for tests of what the reader refuses: a valid small file by
// default, and every field reachable so that a test can break exactly one.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace attend::testing {

class GgufBytes {
 public:
  GgufBytes& u8(uint8_t v) { return raw(&v, 1); }
  GgufBytes& u32(uint32_t v) { return raw(&v, 4); }
  GgufBytes& u64(uint64_t v) { return raw(&v, 8); }
  GgufBytes& f32(float v) { return raw(&v, 4); }
  GgufBytes& text(const std::string& s) {
    u64(s.size());
    bytes_ += s;
    return *this;
  }
  GgufBytes& pad_to(size_t alignment) {
    while (bytes_.size() % alignment != 0) bytes_ += '\0';
    return *this;
  }
  const std::string& bytes() const { return bytes_; }

  void write(const std::string& path) const {
    std::ofstream(path, std::ios::binary).write(bytes_.data(), static_cast<std::streamsize>(bytes_.size()));
  }

 private:
  GgufBytes& raw(const void* p, size_t n) {
    bytes_.append(static_cast<const char*>(p), n);
    return *this;
  }
  std::string bytes_;
};

// What a small valid file holds; tests change one field.
struct SmallGguf {
  std::string magic = "GGUF";
  uint32_t version = 3;
  uint64_t tensor_count = 1, metadata_count = 1;
  std::string key = "general.architecture";
  uint32_t value_type = 8;  // string
  std::string value = "llama";
  std::string tensor_name = "weight";
  std::vector<uint64_t> ne = {4, 2};
  uint32_t tensor_type = 0;  // F32
  uint64_t offset = 0;
  size_t data_floats = 8;

  GgufBytes build() const {
    GgufBytes b;
    for (char c : magic) b.u8(static_cast<uint8_t>(c));
    b.u32(version).u64(tensor_count).u64(metadata_count);
    b.text(key).u32(value_type).text(value);
    b.text(tensor_name).u32(static_cast<uint32_t>(ne.size()));
    for (uint64_t n : ne) b.u64(n);
    b.u32(tensor_type).u64(offset).pad_to(32);
    for (size_t i = 0; i < data_floats; ++i) b.f32(static_cast<float>(i));
    return b;
  }
};

}  // namespace attend::testing
