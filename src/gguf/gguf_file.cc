#include "attend/gguf/gguf_file.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "attend/core/utf8.h"
#include "attend/gguf/dequantize.h"
#include "gguf/byte_reader.h"
#include "gguf/mapped_file.h"
#include "gguf/metadata_values.h"

namespace attend::gguf {

static_assert(std::endian::native == std::endian::little, "the GGUF reader assumes a little-endian host");

struct File::State {
  std::string path;
  MappedFile mapping;
  uint32_t version = 0;
  uint64_t alignment = 32;
  std::vector<std::pair<std::string, Value>> metadata;
  std::unordered_map<std::string, size_t> metadata_index;
  std::vector<TensorInfo> tensors;
  std::unordered_map<std::string, size_t> tensor_index;

  explicit State(const std::string& file) : path(file), mapping(file) {}
};

namespace {

constexpr uint64_t kMaxDimensions = 4;           // GGML_MAX_DIMS
constexpr uint64_t kSmallestMetadataEntry = 13;  // an empty key's length, a type, a uint8
constexpr uint64_t kSmallestTensorEntry = 32;    // an empty name's length, n_dims, one ne, type, offset

uint32_t read_version(ByteReader& reader) {
  const uint32_t version = reader.read<uint32_t>("the version");
  if (version == 2 || version == 3) return version;
  if (version == 1) reader.error("GGUF version 1 is not supported (versions 2 and 3 are)");
  if (__builtin_bswap32(version) == 2 || __builtin_bswap32(version) == 3) {
    reader.error("a big-endian GGUF file; attend reads little-endian files only");
  }
  reader.error(fmt::format("unsupported GGUF version {} (versions 2 and 3 are)", version));
}

// Reads a key or a tensor name: non-empty UTF-8, not seen before.
std::string read_name(ByteReader& reader, std::string_view what, const std::unordered_map<std::string, size_t>& seen) {
  std::string name = reader.read_string(what);
  if (name.empty()) reader.error(fmt::format("{} is empty", what));
  if (!is_utf8(name)) reader.error(fmt::format("{} is not valid UTF-8", what));
  if (seen.contains(name)) reader.error(fmt::format("{} '{}' appears twice", what, name));
  return name;
}

void read_metadata(ByteReader& reader, uint64_t count, File::State& state) {
  if (count > reader.remaining() / kSmallestMetadataEntry) {
    reader.error(fmt::format("{} metadata entries cannot fit in the {} bytes left", count, reader.remaining()));
  }
  state.metadata.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    std::string key = read_name(reader, "a metadata key", state.metadata_index);
    const auto type = static_cast<ValueType>(reader.read<uint32_t>("a metadata value's type"));
    Value value = read_value(reader, type, 8);
    state.metadata_index.emplace(key, state.metadata.size());
    state.metadata.emplace_back(std::move(key), std::move(value));
  }
}

uint64_t read_alignment(const File::State& state, const ByteReader& reader) {
  const auto found = state.metadata_index.find("general.alignment");
  if (found == state.metadata_index.end()) return 32;
  const Value& value = state.metadata[found->second].second;
  if (value.type != ValueType::kUint32) {
    reader.error(fmt::format("general.alignment must be a uint32, not a {}", value_type_name(value.type)));
  }
  const uint64_t alignment = std::get<uint64_t>(value.data);
  if (alignment == 0 || !std::has_single_bit(alignment)) {
    reader.error(fmt::format("general.alignment {} is not a power of two", alignment));
  }
  return alignment;
}

// Reads one tensor's entry and checks its shape against its type's blocks.
TensorInfo read_tensor_info(ByteReader& reader, const File::State& state) {
  TensorInfo info;
  info.name = read_name(reader, "a tensor name", state.tensor_index);
  const uint32_t dimensions = reader.read<uint32_t>("a tensor's dimension count");
  if (dimensions == 0 || dimensions > kMaxDimensions) {
    reader.error(fmt::format("tensor '{}' has {} dimensions (1 to {} allowed)", info.name, dimensions, kMaxDimensions));
  }
  uint64_t elements = 1;
  for (uint32_t d = 0; d < dimensions; ++d) {
    const uint64_t size = reader.read<uint64_t>("a tensor dimension");
    if (size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        __builtin_mul_overflow(elements, size, &elements) ||
        elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      reader.error(fmt::format("tensor '{}' has more elements than fit in 64 bits", info.name));
    }
    info.ne.push_back(static_cast<int64_t>(size));
  }
  const uint32_t type_number = reader.read<uint32_t>("a tensor type");
  info.type = static_cast<TensorType>(type_number);
  if (tensor_type_name(info.type).starts_with("type ")) {
    reader.error(fmt::format("tensor '{}' has the unknown type {}", info.name, type_number));
  }
  const BlockLayout block = block_layout(info.type);
  if (info.ne[0] % block.elements != 0) {
    reader.error(fmt::format("tensor '{}' ({}) has rows of {} values, not a multiple of its blocks of {}", info.name,
                             tensor_type_name(info.type), info.ne[0], block.elements));
  }
  if (__builtin_mul_overflow(elements / static_cast<uint64_t>(block.elements), static_cast<uint64_t>(block.bytes),
                             &info.bytes)) {
    reader.error(fmt::format("tensor '{}' ({} values of {}) has more bytes than fit in 64 bits", info.name, elements,
                             tensor_type_name(info.type)));
  }
  info.offset = reader.read<uint64_t>("a tensor offset");
  if (info.offset % state.alignment != 0) {
    reader.error(fmt::format("tensor '{}' starts at data offset {}, not a multiple of the alignment {}", info.name,
                             info.offset, state.alignment));
  }
  return info;
}

// Places every tensor after the header (data_start + offset) and checks that each lies inside
// the file and that no two overlap.
void place_tensors(File::State& state, uint64_t header_end, uint64_t file_size) {
  const uint64_t data_start = (header_end + state.alignment - 1) / state.alignment * state.alignment;
  std::vector<TensorInfo*> by_offset;
  for (TensorInfo& info : state.tensors) {
    uint64_t end = 0;
    if (__builtin_add_overflow(data_start, info.offset, &info.offset) ||
        __builtin_add_overflow(info.offset, info.bytes, &end) || end > file_size) {
      fail<FormatError>("'{}': tensor '{}' ({} bytes at data offset {}) runs past the end of the file ({} bytes)",
                        state.path, info.name, info.bytes, info.offset - data_start, file_size);
    }
    by_offset.push_back(&info);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i - 1]->offset + by_offset[i - 1]->bytes > by_offset[i]->offset) {
      fail<FormatError>("'{}': tensors '{}' and '{}' overlap", state.path, by_offset[i - 1]->name, by_offset[i]->name);
    }
  }
}

void parse(File::State& state) {
  ByteReader reader(state.path, state.mapping.bytes());
  reader.require(4, "the magic");
  if (std::memcmp(state.mapping.bytes().data(), "GGUF", 4) != 0) reader.error("not a GGUF file (no 'GGUF' magic)");
  reader.read<uint32_t>("the magic");
  state.version = read_version(reader);
  const uint64_t tensor_count = reader.read<uint64_t>("the tensor count");
  const uint64_t metadata_count = reader.read<uint64_t>("the metadata count");
  read_metadata(reader, metadata_count, state);
  state.alignment = read_alignment(state, reader);
  if (tensor_count > reader.remaining() / kSmallestTensorEntry) {
    reader.error(fmt::format("{} tensors cannot fit in the {} bytes left", tensor_count, reader.remaining()));
  }
  state.tensors.reserve(tensor_count);
  for (uint64_t i = 0; i < tensor_count; ++i) {
    TensorInfo info = read_tensor_info(reader, state);
    state.tensor_index.emplace(info.name, state.tensors.size());
    state.tensors.push_back(std::move(info));
  }
  place_tensors(state, reader.offset(), state.mapping.bytes().size());
}

[[noreturn]] void wrong_type(const std::string& path, std::string_view key, std::string_view wanted,
                             const Value& value) {
  fail<FormatError>("'{}': metadata '{}' must be {}, not {}", path, key, wanted, value_type_name(value.type));
}

int64_t integer_value(const std::string& path, std::string_view key, const Value& value) {
  if (const auto* signed_value = std::get_if<int64_t>(&value.data)) return *signed_value;
  if (const auto* unsigned_value = std::get_if<uint64_t>(&value.data)) {
    if (*unsigned_value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      fail<FormatError>("'{}': metadata '{}' = {} does not fit in int64", path, key, *unsigned_value);
    }
    return static_cast<int64_t>(*unsigned_value);
  }
  wrong_type(path, key, "an integer", value);
}

}  // namespace

File File::open(const std::string& path) {
  auto state = std::make_unique<State>(path);
  parse(*state);
  return File(std::move(state));
}

File::File(std::unique_ptr<State> state) : state_(std::move(state)) {}
File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;
File::~File() = default;

const std::string& File::path() const { return state_->path; }
uint32_t File::version() const { return state_->version; }
uint64_t File::alignment() const { return state_->alignment; }
const std::vector<std::pair<std::string, Value>>& File::metadata() const { return state_->metadata; }
const std::vector<TensorInfo>& File::tensors() const { return state_->tensors; }

const Value* File::find(std::string_view key) const {
  const auto found = state_->metadata_index.find(std::string(key));
  return found == state_->metadata_index.end() ? nullptr : &state_->metadata[found->second].second;
}

namespace {
const Value& required(const File& file, std::string_view key) {
  const Value* value = file.find(key);
  if (value == nullptr) fail<FormatError>("'{}': the metadata has no '{}'", file.path(), key);
  return *value;
}
}  // namespace

const std::string& File::string(std::string_view key) const {
  const Value& value = required(*this, key);
  if (value.type != ValueType::kString) wrong_type(path(), key, "a string", value);
  return std::get<std::string>(value.data);
}

int64_t File::integer(std::string_view key) const { return integer_value(path(), key, required(*this, key)); }

double File::real(std::string_view key) const {
  const Value& value = required(*this, key);
  if (value.type != ValueType::kFloat32 && value.type != ValueType::kFloat64) wrong_type(path(), key, "a float", value);
  return std::get<double>(value.data);
}

bool File::boolean(std::string_view key) const {
  const Value& value = required(*this, key);
  if (value.type != ValueType::kBool) wrong_type(path(), key, "a bool", value);
  return std::get<bool>(value.data);
}

std::vector<std::string> File::strings(std::string_view key) const {
  const Value& value = required(*this, key);
  if (value.type != ValueType::kArray || value.element_type != ValueType::kString) {
    wrong_type(path(), key, "an array of strings", value);
  }
  std::vector<std::string> result;
  for (const Value& element : std::get<std::vector<Value>>(value.data))
    result.push_back(std::get<std::string>(element.data));
  return result;
}

std::vector<int64_t> File::integers(std::string_view key) const {
  const Value& value = required(*this, key);
  if (value.type != ValueType::kArray) wrong_type(path(), key, "an array of integers", value);
  std::vector<int64_t> result;
  for (const Value& element : std::get<std::vector<Value>>(value.data))
    result.push_back(integer_value(path(), key, element));
  return result;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  const auto found = state_->tensor_index.find(std::string(name));
  return found == state_->tensor_index.end() ? nullptr : &state_->tensors[found->second];
}

const TensorInfo& File::tensor(std::string_view name) const {
  const TensorInfo* info = find_tensor(name);
  if (info == nullptr) fail<FormatError>("'{}': no tensor named '{}'", path(), name);
  return *info;
}

std::span<const std::byte> File::bytes(const TensorInfo& info) const {
  return state_->mapping.bytes().subspan(info.offset, info.bytes);
}

Tensor<float> File::dequantize(const TensorInfo& info) const {
  if (!can_dequantize(info.type)) {
    fail<FormatError>("'{}': tensor '{}' has type {}, which attend cannot convert to float32", path(), info.name,
                      tensor_type_name(info.type));
  }
  Tensor<float> result = Tensor<float>::empty(info.shape());
  gguf::dequantize(info.type, bytes(info), std::span<float>(result.data(), static_cast<size_t>(info.elements())));
  return result;
}

}  // namespace attend::gguf
