#include "attend/gguf/gguf_writer.h"

#include <bit>
#include <cstring>
#include <type_traits>

#include "attend/core/error.h"
#include "attend/io/atomic_file.h"

namespace attend::gguf {
namespace {

constexpr uint64_t kAlignment = 32;

// Little-endian bytes of the header, appended.
class Bytes {
 public:
  template <typename T>
  void put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const std::byte*>(&value);
    data_.insert(data_.end(), p, p + sizeof(T));
  }
  void put_string(const std::string& text) {
    put<uint64_t>(text.size());
    const auto* p = reinterpret_cast<const std::byte*>(text.data());
    data_.insert(data_.end(), p, p + text.size());
  }
  void pad_to(uint64_t alignment) { data_.resize((data_.size() + alignment - 1) / alignment * alignment); }
  const std::vector<std::byte>& data() const { return data_; }

 private:
  std::vector<std::byte> data_;
};

uint64_t aligned(uint64_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

void Writer::check_new_key(const std::string& key) const {
  for (const Entry& entry : metadata_) {
    ATTEND_CHECK(entry.key != key, ValueError, "gguf::Writer: metadata key '{}' added twice", key);
  }
}

void Writer::add_string(const std::string& key, const std::string& value) {
  check_new_key(key);
  metadata_.push_back({key, ValueType::kString, value});
}

void Writer::add_uint32(const std::string& key, uint32_t value) {
  check_new_key(key);
  metadata_.push_back({key, ValueType::kUint32, {}, value});
}

void Writer::add_float32(const std::string& key, float value) {
  check_new_key(key);
  metadata_.push_back({key, ValueType::kFloat32, {}, 0, value});
}

void Writer::add_tensor(const std::string& name, TensorType type, const Shape& shape, std::vector<std::byte> bytes) {
  for (const Item& item : tensors_) {
    ATTEND_CHECK(item.name != name, ValueError, "gguf::Writer: tensor '{}' added twice", name);
  }
  ATTEND_CHECK(shape.size() == 1 || shape.size() == 2, ValueError,
               "gguf::Writer: tensor '{}' has shape {}; 1 or 2 axes", name, shape_string(shape));
  const BlockLayout layout = block_layout(type);
  const int64_t elements = shape.size() == 1 ? shape[0] : shape[0] * shape[1];
  const int64_t row = shape.back();
  ATTEND_CHECK(elements >= 1 && row % layout.elements == 0, ValueError,
               "gguf::Writer: tensor '{}' {} does not split into {} blocks of {} values", name, shape_string(shape),
               tensor_type_name(type), layout.elements);
  const int64_t expected = elements / layout.elements * layout.bytes;
  ATTEND_CHECK(static_cast<int64_t>(bytes.size()) == expected, ValueError,
               "gguf::Writer: tensor '{}' {} of {} needs {} bytes, got {}", name, shape_string(shape),
               tensor_type_name(type), expected, bytes.size());
  tensors_.push_back({name, type, shape, std::move(bytes)});
}

void Writer::add_f32_tensor(const std::string& name, const Tensor<float>& tensor) {
  const Tensor<float> values = tensor.contiguous();
  std::vector<std::byte> bytes(static_cast<size_t>(values.numel()) * sizeof(float));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  add_tensor(name, TensorType::kF32, values.shape(), std::move(bytes));
}

void Writer::write(const std::string& path, bool overwrite) const {
  static_assert(std::endian::native == std::endian::little, "GGUF is little-endian");
  Bytes header;
  header.put<uint32_t>(0x46554747);  // "GGUF"
  header.put<uint32_t>(3);
  header.put<uint64_t>(tensors_.size());
  header.put<uint64_t>(metadata_.size());
  for (const Entry& entry : metadata_) {
    header.put_string(entry.key);
    header.put<uint32_t>(static_cast<uint32_t>(entry.type));
    if (entry.type == ValueType::kString) header.put_string(entry.text);
    if (entry.type == ValueType::kUint32) header.put<uint32_t>(entry.unsigned_value);
    if (entry.type == ValueType::kFloat32) header.put<float>(entry.real);
  }
  uint64_t offset = 0;
  for (const Item& item : tensors_) {
    header.put_string(item.name);
    header.put<uint32_t>(static_cast<uint32_t>(item.shape.size()));
    for (auto axis = item.shape.rbegin(); axis != item.shape.rend(); ++axis) header.put<uint64_t>(*axis);
    header.put<uint32_t>(static_cast<uint32_t>(item.type));
    header.put<uint64_t>(offset);
    offset = aligned(offset + item.bytes.size());
  }
  header.pad_to(kAlignment);
  io::AtomicFile file(path, overwrite);
  file.write(header.data().data(), header.data().size());
  const std::vector<std::byte> padding(kAlignment);
  for (const Item& item : tensors_) {
    file.write(item.bytes.data(), item.bytes.size());
    file.write(padding.data(), aligned(item.bytes.size()) - item.bytes.size());
  }
  file.commit();
}

}  // namespace attend::gguf
