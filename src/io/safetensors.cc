#include "attend/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <system_error>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "attend/core/utf8.h"
#include "attend/core/half_float.h"
#include "attend/io/tensor_table.h"
#include "io/quoted_list.h"
#include "io/tensor_checksum.h"

namespace attend::io {

// Numbers and tensor elements are stored little-endian and copied as raw memory.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

// Not ordered_json: its objects find keys by linear search, which made a header of n keys cost
// O(n^2) to parse (80,000 keys took 18 s). The header's order is kept by parse_header instead.
using Json = nlohmann::json;

// The reference implementation's limit; real headers are at most a few MB.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr std::string_view kMetadataKey = "__metadata__";

// How a stored element becomes an element of attend's tensor: copied as it is, or a 16-bit float
// widened to F32 (exactly: every F16 and BF16 value is an F32 value).
enum class Widening { kNone, kFromF16, kFromBF16 };

struct DTypeInfo {
  DType dtype;  // in memory
  std::string_view name;
  int64_t size;  // bytes per element in the file
  Widening widening;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::kF32, "F32", 4, Widening::kNone},    {DType::kF64, "F64", 8, Widening::kNone},
    {DType::kI64, "I64", 8, Widening::kNone},    {DType::kU8, "U8", 1, Widening::kNone},
    {DType::kF32, "F16", 2, Widening::kFromF16}, {DType::kF32, "BF16", 2, Widening::kFromBF16}};
// Valid safetensors dtypes that attend has no tensor type for: named as such in the error.
constexpr std::string_view kOtherDTypes[] = {"BOOL",    "I8",      "I16",     "U16", "I32", "U32",     "U64",
                                             "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4",  "C64", "F6_E2M3", "F6_E3M2"};

// A JSON value for an error message, cut short so that a huge header cannot flood it.
std::string abbreviate(const Json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

template <typename... Args>
[[noreturn]] void format_error(const std::string& path, fmt::format_string<Args...> format, Args&&... args) {
  throw FormatError(fmt::format("load_safetensors: '{}': {}", path, fmt::format(format, std::forward<Args>(args)...)));
}

// ---- loading ----

// One tensor of the header, validated against the data buffer.
struct Entry {
  std::string name;
  DType dtype;  // in memory
  Widening widening;
  Shape shape;
  int64_t begin;  // byte range [begin, end) in the data buffer
  int64_t end;
};

// The parsed header and its top-level names in file order (Json's objects are sorted by key).
struct Header {
  Json json;
  std::vector<std::string> names;
};

// Builds the header from the parser's events, rejecting what JSON parsers accept silently: a
// repeated key (the last one would win) and nesting deeper than a safetensors header has
// (root -> entry -> shape). Not Json::parse with a callback: after every object or list that
// closes, it scans the enclosing object for discarded values, which made a header of n tensors
// cost O(n^2) to parse.
class HeaderBuilder : public nlohmann::json_sax<Json> {
 public:
  HeaderBuilder(const std::string& path, Header& header) : path_(path), header_(header) {}

  bool null() override { return add(nullptr); }
  bool boolean(bool value) override { return add(value); }
  bool number_integer(number_integer_t value) override { return add(value); }
  bool number_unsigned(number_unsigned_t value) override { return add(value); }
  bool number_float(number_float_t value, const string_t&) override { return add(value); }
  bool string(string_t& value) override { return add(std::move(value)); }
  bool binary(binary_t& value) override { return add(Json::binary(std::move(value))); }
  bool start_object(size_t) override { return open(Json::object()); }
  bool start_array(size_t) override { return open(Json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& key) override {
    if (!open_.back().keys.insert(key).second) {
      if (open_.size() == 1) format_error(path_, "the name '{}' appears twice in the header", key);
      format_error(path_, "the key '{}' appears twice in the entry of '{}'", key, header_.names.back());
    }
    if (open_.size() == 1) header_.names.push_back(key);
    key_ = std::move(key);
    return true;
  }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception& error) override {
    format_error(path_, "the header is not valid JSON: {}", error.what());
  }

 private:
  struct OpenContainer {
    Json* value;
    std::unordered_set<std::string> keys;  // of an object, to find repeats
  };

  // Puts `value` where the parser is: the root, the next element of a list, or under key_.
  // Returns where it went; that stays valid while it is open, since only it grows meanwhile.
  Json* place(Json value) {
    if (open_.empty()) return &(header_.json = std::move(value));
    Json& parent = *open_.back().value;
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    return &(parent[key_] = std::move(value));
  }
  bool add(Json value) {
    place(std::move(value));
    return true;
  }
  bool open(Json container) {
    // open_.size() counts the containers around this one: 2 is a list inside an entry.
    if (open_.size() > 2) format_error(path_, "the header nests too deeply (inside '{}')", header_.names.back());
    open_.push_back({place(std::move(container)), {}});
    return true;
  }
  bool close() {
    open_.pop_back();
    return true;
  }

  const std::string& path_;
  Header& header_;
  std::vector<OpenContainer> open_;
  std::string key_;  // the key of the next value inside an object
};

Header parse_header(const std::string& path, const std::string& text) {
  Header header;
  HeaderBuilder builder(path, header);
  Json::sax_parse(text, &builder);
  return header;
}

// A JSON integer in [0, INT64_MAX], or nullopt for anything else (negative, fractional, string).
std::optional<int64_t> non_negative_integer(const Json& value) {
  if (value.is_number_unsigned()) {
    const uint64_t number = value.get<uint64_t>();
    if (number <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return static_cast<int64_t>(number);
  } else if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    return value.get<int64_t>();  // "-0"
  }
  return std::nullopt;
}

Metadata parse_metadata(const std::string& path, const Json& value) {
  if (!value.is_object()) {
    format_error(path, "__metadata__ must be an object of strings, got {}", abbreviate(value));
  }
  Metadata metadata;
  for (const auto& [key, entry] : value.items()) {
    if (!entry.is_string()) {
      format_error(path, "__metadata__ value of '{}' must be a string, got {}", key, abbreviate(entry));
    }
    metadata.emplace(key, entry.get<std::string>());
  }
  return metadata;
}

Entry parse_entry(const std::string& path, const std::string& name, const Json& value, int64_t buffer_size) {
  if (!value.is_object()) {
    format_error(path, "tensor '{}': the entry must be an object of dtype, shape and data_offsets, got {}", name,
                 abbreviate(value));
  }
  for (const auto& [key, unused] : value.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      format_error(path, "tensor '{}': unexpected key '{}' (an entry has exactly dtype, shape and data_offsets)", name,
                   key);
    }
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(key)) format_error(path, "tensor '{}': missing \"{}\"", name, key);
  }
  Entry entry{name, DType::kF32, Widening::kNone, {}, 0, 0};

  const Json& dtype = value["dtype"];
  if (!dtype.is_string()) format_error(path, "tensor '{}': dtype must be a string, got {}", name, abbreviate(dtype));
  const std::string& dtype_text = dtype.get_ref<const std::string&>();
  const auto known = std::find_if(std::begin(kDTypes), std::end(kDTypes),
                                  [&](const DTypeInfo& info) { return info.name == dtype_text; });
  if (known == std::end(kDTypes)) {
    if (std::find(std::begin(kOtherDTypes), std::end(kOtherDTypes), dtype_text) != std::end(kOtherDTypes)) {
      format_error(path, "tensor '{}': dtype {} is not supported by attend (only F32, F64, I64, U8, F16 and BF16 are)",
                   name, dtype_text);
    }
    format_error(path, "tensor '{}': unknown dtype '{}'", name, dtype_text);
  }
  entry.dtype = known->dtype;
  entry.widening = known->widening;

  const Json& shape = value["shape"];
  if (!shape.is_array()) {
    format_error(path, "tensor '{}': shape must be a list of non-negative integers, got {}", name, abbreviate(shape));
  }
  // The product of max(size, 1) bounds both the element count and the largest stride, so the
  // tensor can be allocated and indexed without overflow.
  int64_t extent = 1;
  int64_t numel = 1;
  for (const Json& size : shape) {
    const std::optional<int64_t> checked = non_negative_integer(size);
    if (!checked) {
      format_error(path, "tensor '{}': shape must be a list of non-negative integers, got {}", name, abbreviate(shape));
    }
    entry.shape.push_back(*checked);
    if (__builtin_mul_overflow(extent, std::max<int64_t>(*checked, 1), &extent)) {
      format_error(path, "tensor '{}': shape {} is too large (its size overflows int64)", name, abbreviate(shape));
    }
    numel *= *checked;  // cannot overflow: numel <= extent
  }
  int64_t bytes = 0;
  if (__builtin_mul_overflow(numel, known->size, &bytes)) {
    format_error(path, "tensor '{}': {} elements of {} take more bytes than fit in int64", name, numel, dtype_text);
  }

  const Json& offsets = value["data_offsets"];
  const bool pair = offsets.is_array() && offsets.size() == 2;
  const std::optional<int64_t> begin = pair ? non_negative_integer(offsets[0]) : std::nullopt;
  const std::optional<int64_t> end = pair ? non_negative_integer(offsets[1]) : std::nullopt;
  if (!begin || !end) {
    format_error(path, "tensor '{}': data_offsets must be two non-negative integers [begin, end], got {}", name,
                 abbreviate(offsets));
  }
  if (*begin > *end) format_error(path, "tensor '{}': data_offsets [{}, {}] end before they begin", name, *begin, *end);
  if (*end > buffer_size) {
    format_error(path, "tensor '{}': data_offsets [{}, {}] run past the end of the data buffer ({} bytes)", name,
                 *begin, *end, buffer_size);
  }
  if (*end - *begin != bytes) {
    format_error(path, "tensor '{}': data_offsets [{}, {}] hold {} bytes, but {} of shape {} needs {} bytes", name,
                 *begin, *end, *end - *begin, dtype_text, shape_string(entry.shape), bytes);
  }
  entry.begin = *begin;
  entry.end = *end;
  return entry;
}

// The byte ranges must tile the buffer: sorted by offset, each begins where the previous ended,
// and the last ends at the end of the buffer. Returns the entries in that order.
std::vector<const Entry*> check_tiling(const std::string& path, const std::vector<Entry>& entries,
                                       int64_t buffer_size) {
  std::vector<const Entry*> order;
  for (const Entry& entry : entries) order.push_back(&entry);
  std::stable_sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return std::pair(a->begin, a->end) < std::pair(b->begin, b->end);
  });
  int64_t covered = 0;  // bytes [0, covered) belong to the tensors seen so far
  const Entry* previous = nullptr;
  for (const Entry* entry : order) {
    if (entry->begin < covered) {
      format_error(path, "tensors '{}' [{}, {}) and '{}' [{}, {}) overlap", previous->name, previous->begin,
                   previous->end, entry->name, entry->begin, entry->end);
    }
    if (entry->begin > covered) {
      format_error(path, "bytes [{}, {}) of the data buffer belong to no tensor (a gap before '{}')", covered,
                   entry->begin, entry->name);
    }
    covered = entry->end;
    previous = entry;
  }
  if (covered != buffer_size) {
    format_error(path, "the last {} bytes of the data buffer (of {}) belong to no tensor", buffer_size - covered,
                 buffer_size);
  }
  return order;
}

AnyTensor empty_tensor(DType dtype, const Shape& shape) {
  switch (dtype) {
    case DType::kF32:
      return Tensor<float>::empty(shape);
    case DType::kF64:
      return Tensor<double>::empty(shape);
    case DType::kI64:
      return Tensor<int64_t>::empty(shape);
    case DType::kU8:
      return Tensor<uint8_t>::empty(shape);
  }
  fail("empty_tensor: bad dtype");
}

struct CloseFile {
  void operator()(FILE* file) const { std::fclose(file); }
};

// Reads exactly `size` bytes; the file was measured before, so a short read means it changed.
void read_exactly(const std::string& path, FILE* file, void* data, size_t size) {
  if (size == 0) return;
  if (std::fread(data, 1, size, file) == size) return;
  if (std::ferror(file)) fail<IoError>("load_safetensors: cannot read '{}'", path);
  format_error(path, "the file ended early (was it modified while being read?)");
}

// Reads the 16-bit floats of `entry` and writes them widened to F32 into `out`, a chunk at a time.
void read_widened(const std::string& path, FILE* file, const Entry& entry, float* out) {
  const int64_t count = (entry.end - entry.begin) / 2;
  std::vector<uint16_t> chunk(static_cast<size_t>(std::min<int64_t>(count, 1 << 16)));
  for (int64_t done = 0; done < count;) {
    const int64_t n = std::min<int64_t>(count - done, static_cast<int64_t>(chunk.size()));
    read_exactly(path, file, chunk.data(), static_cast<size_t>(n) * 2);
    for (int64_t i = 0; i < n; ++i) {
      out[done + i] =
          entry.widening == Widening::kFromF16 ? float_from_f16_bits(chunk[i]) : float_from_bf16_bits(chunk[i]);
    }
    done += n;
  }
}

// IoError unless `status` is a regular file's: reading a FIFO, socket or terminal could block
// forever, and a directory or device has no safetensors bytes to read.
void require_regular_file(const std::string& path, const struct stat& status) {
  if (S_ISREG(status.st_mode)) return;
  const mode_t type = status.st_mode & S_IFMT;
  const char* kind = type == S_IFDIR    ? "a directory"
                     : type == S_IFIFO  ? "a FIFO (named pipe)"
                     : type == S_IFSOCK ? "a socket"
                     : type == S_IFCHR  ? "a character device"
                     : type == S_IFBLK  ? "a block device"
                                        : "another kind of file";
  fail<IoError>("load_safetensors: '{}' is not a regular file (it is {})", path, kind);
}

// The offset of the first NaN or infinity in the contiguous `tensor`, or nullopt.
template <typename T>
std::optional<int64_t> first_non_finite_offset(const Tensor<T>& tensor) {
  const T* values = tensor.data();
  const int64_t count = tensor.numel();  // once: numel() multiplies the shape out
  for (int64_t offset = 0; offset < count; ++offset) {
    if (!std::isfinite(values[offset])) return offset;
  }
  return std::nullopt;
}

// The row-major index of element `offset` of a contiguous tensor of `shape`.
Shape unravel_index(int64_t offset, const Shape& shape) {
  Shape index(shape.size());
  for (size_t axis = shape.size(); axis-- > 0;) {
    index[axis] = offset % shape[axis];
    offset /= shape[axis];
  }
  return index;
}

}  // namespace

std::string_view dtype_name(DType dtype) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.dtype == dtype) return info.name;
  }
  fail("dtype_name: bad dtype");
}

int64_t dtype_size(DType dtype) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.dtype == dtype) return info.size;
  }
  fail("dtype_size: bad dtype");
}

DType dtype_of(const AnyTensor& tensor) {
  return std::visit([](const auto& typed) { return dtype_for<typename std::decay_t<decltype(typed)>::value_type>(); },
                    tensor);
}

Shape shape_of(const AnyTensor& tensor) {
  return std::visit([](const auto& typed) { return typed.shape(); }, tensor);
}

SafetensorsFile load_safetensors(const std::string& path) {
  // The type is checked before opening, because opening a FIFO waits for a writer and some
  // devices act on open, and again on the open file in case `path` was replaced in between;
  // O_NONBLOCK keeps that open from blocking (regular files ignore it).
  const auto cannot_open = [&](int error) {
    fail<IoError>("load_safetensors: cannot open '{}': {}", path, std::generic_category().message(error));
  };
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) cannot_open(errno);
  require_regular_file(path, status);
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (descriptor < 0) cannot_open(errno);
  const std::unique_ptr<FILE, CloseFile> file(::fdopen(descriptor, "rb"));
  if (!file) {
    const int error = errno;
    ::close(descriptor);
    cannot_open(error);
  }
  if (::fstat(descriptor, &status) != 0) cannot_open(errno);
  require_regular_file(path, status);
  const uint64_t file_size = static_cast<uint64_t>(status.st_size);
  if (file_size < 8) format_error(path, "the file is {} bytes long, too short for the 8-byte header length", file_size);

  uint64_t header_length = 0;
  read_exactly(path, file.get(), &header_length, 8);
  // Any other file (an image, random bytes) fails here, with its first bytes read as a length.
  if (header_length > kMaxHeaderBytes) {
    format_error(path, "not a safetensors file: the header length {} exceeds the limit of {} bytes", header_length,
                 kMaxHeaderBytes);
  }
  if (header_length > file_size - 8) {
    format_error(path, "not a safetensors file: the header length {} runs past the end of the file ({} bytes)",
                 header_length, file_size);
  }
  std::string text(header_length, '\0');
  read_exactly(path, file.get(), text.data(), text.size());
  const int64_t buffer_size = static_cast<int64_t>(file_size - 8 - header_length);

  if (const size_t bad = invalid_utf8_offset(text); bad != std::string_view::npos) {
    format_error(path, "the header is not valid UTF-8 (byte 0x{:02x} at header offset {})",
                 static_cast<uint8_t>(text[bad]), bad);
  }
  // A raw NUL is never valid JSON (inside a string it must be escaped), but nlohmann::json takes
  // it for the end of the input and would ignore whatever follows; Python's json rejects it. The
  // format pads headers with spaces, not NULs.
  if (const size_t nul = text.find('\0'); nul != std::string::npos) {
    format_error(path, "the header has a NUL byte at header offset {} (JSON allows none; pad with spaces)", nul);
  }
  // Only JSON whitespace may come before the object, as in the reference implementation: not a
  // byte-order mark, which nlohmann::json would skip.
  const size_t start = text.find_first_not_of(" \t\n\r");
  if (start == std::string::npos) format_error(path, "the header is empty");
  if (text[start] != '{') {
    format_error(path, "the header must be a JSON object starting with '{{', not byte 0x{:02x}",
                 static_cast<uint8_t>(text[start]));
  }
  const Header header = parse_header(path, text);
  if (!header.json.is_object()) {
    format_error(path, "the header must be a JSON object, got {}", header.json.type_name());
  }
  Metadata metadata;
  std::vector<Entry> entries;
  for (const std::string& name : header.names) {
    const Json& value = header.json.at(name);
    if (name == kMetadataKey) {
      metadata = parse_metadata(path, value);
    } else {
      entries.push_back(parse_entry(path, name, value, buffer_size));
    }
  }

  // Every range is now known to tile the buffer, so reading the tensors in offset order reads the
  // rest of the file exactly, and no allocation exceeds the file's size.
  std::vector<AnyTensor> loaded(entries.size());
  for (const Entry* entry : check_tiling(path, entries, buffer_size)) {
    AnyTensor tensor = empty_tensor(entry->dtype, entry->shape);
    void* data = std::visit([](const auto& typed) -> void* { return typed.data(); }, tensor);
    if (entry->widening == Widening::kNone) {
      read_exactly(path, file.get(), data, static_cast<size_t>(entry->end - entry->begin));
    } else {
      read_widened(path, file.get(), *entry, static_cast<float*>(data));
    }
    loaded[static_cast<size_t>(entry - entries.data())] = std::move(tensor);
  }
  NamedTensors tensors;
  for (size_t i = 0; i < entries.size(); ++i) tensors.emplace_back(entries[i].name, std::move(loaded[i]));
  // attend's own files carry a checksum of what they hold (io/tensor_checksum.h); others do not.
  if (const auto stored = metadata.find(std::string(kChecksumKey)); stored != metadata.end()) {
    const std::string computed = tensor_checksum(tensors, metadata);
    if (stored->second != computed) {
      format_error(path,
                   "the file is damaged: its tensors and metadata have checksum {}, but {} was stored when attend "
                   "wrote it",
                   computed, stored->second);
    }
    metadata.erase(stored);
  }
  return SafetensorsFile(path, std::move(tensors), std::move(metadata));
}

// ---- saving ----

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata, bool overwrite) {
  // Everything is checked before the file is created.
  std::set<std::string_view> names;
  for (const auto& [name, tensor] : tensors) {
    ATTEND_CHECK(name != kMetadataKey, ValueError, "save_safetensors: '{}' is reserved and cannot name a tensor", name);
    ATTEND_CHECK(is_utf8(name), ValueError, "save_safetensors: the tensor name '{}' is not valid UTF-8", name);
    ATTEND_CHECK(names.insert(name).second, ValueError, "save_safetensors: the name '{}' is used twice", name);
    const bool defined = std::visit([](const auto& typed) { return typed.defined(); }, tensor);
    ATTEND_CHECK(defined, ValueError, "save_safetensors: tensor '{}' is undefined", name);
  }
  for (const auto& [key, value] : metadata) {
    ATTEND_CHECK(is_utf8(key) && is_utf8(value), ValueError,
                 "save_safetensors: the metadata entry '{}' is not valid UTF-8", key);
  }
  // The checksum that load_safetensors verifies (io/tensor_checksum.h); one given in `metadata`
  // (a file loaded and saved again) is replaced by that of what is written now.
  Metadata metadata_with_checksum = metadata;
  metadata_with_checksum[std::string(kChecksumKey)] = tensor_checksum(tensors, metadata);

  // Widest elements first: with the buffer starting at a multiple of 8, every tensor then starts
  // at a multiple of its element size, which readers that map the file in place rely on (the
  // Python package orders its files the same way).
  std::vector<size_t> layout(tensors.size());
  std::iota(layout.begin(), layout.end(), size_t{0});
  std::stable_sort(layout.begin(), layout.end(), [&](size_t a, size_t b) {
    return dtype_size(dtype_of(tensors[a].second)) > dtype_size(dtype_of(tensors[b].second));
  });
  std::vector<std::pair<int64_t, int64_t>> ranges(tensors.size());
  int64_t offset = 0;
  for (size_t i : layout) {
    const AnyTensor& tensor = tensors[i].second;
    const int64_t bytes = checked_mul(shape_numel(shape_of(tensor)), dtype_size(dtype_of(tensor)));
    ranges[i] = {offset, checked_add(offset, bytes)};
    offset = ranges[i].second;
  }

  // The top level is written by hand to keep the tensors in their given order without
  // ordered_json's quadratic inserts; the metadata is a sorted map, as before. The bytes are the
  // same as ordered_json wrote.
  std::string text = "{";
  text += Json(kMetadataKey).dump() + ":" + Json(metadata_with_checksum).dump();
  for (size_t i = 0; i < tensors.size(); ++i) {
    nlohmann::ordered_json entry;  // three keys, in the order the format's documentation lists them
    entry["dtype"] = dtype_name(dtype_of(tensors[i].second));
    entry["shape"] = shape_of(tensors[i].second);
    entry["data_offsets"] = Json::array({ranges[i].first, ranges[i].second});
    if (text.size() > 1) text += ",";
    text += Json(tensors[i].first).dump() + ":" + entry.dump();
  }
  text += "}";
  text.append((8 - text.size() % 8) % 8, ' ');  // so that the data buffer starts 8-byte aligned
  const uint64_t header_length = text.size();

  AtomicFile file(path, overwrite);
  file.write(&header_length, sizeof(header_length));
  file.write(text.data(), text.size());
  for (size_t i : layout) {
    std::visit(
        [&](const auto& typed) {
          const auto contiguous = typed.detach().contiguous();
          file.write(contiguous.data(), static_cast<size_t>(ranges[i].second - ranges[i].first));
        },
        tensors[i].second);
  }
  file.commit();
}

// ---- SafetensorsFile ----

SafetensorsFile::SafetensorsFile(std::string path, NamedTensors tensors, Metadata metadata)
    : path_(std::move(path)), tensors_(std::move(tensors)), metadata_(std::move(metadata)) {
  for (size_t i = 0; i < tensors_.size(); ++i) {
    ATTEND_CHECK(index_.emplace(tensors_[i].first, i).second, ValueError,
                 "SafetensorsFile: the name '{}' is used twice", tensors_[i].first);
  }
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : tensors_) names.push_back(name);
  return names;
}

const AnyTensor& SafetensorsFile::at(const std::string& name) const {
  const auto found = index_.find(name);
  ATTEND_CHECK(found != index_.end(), ValueError, "'{}' has no tensor named '{}' (it has {})", path_, name,
               tensors_.empty() ? std::string("none") : quoted_list(names()));
  return tensors_[found->second].second;
}

template <SafetensorsElement T>
Tensor<T> SafetensorsFile::get(const std::string& name) const {
  const AnyTensor& tensor = at(name);
  const Tensor<T>* typed = std::get_if<Tensor<T>>(&tensor);
  ATTEND_CHECK(typed != nullptr, ValueError, "'{}': tensor '{}' has dtype {}, not {}", path_, name,
               dtype_name(dtype_of(tensor)), dtype_name(dtype_for<T>()));
  return *typed;
}

template <SafetensorsElement T>
Tensor<T> SafetensorsFile::get(const std::string& name, const Shape& expected_shape) const {
  Tensor<T> tensor = get<T>(name);
  ATTEND_CHECK(tensor.shape() == expected_shape, ShapeError, "'{}': tensor '{}' has shape {}, expected {}", path_, name,
               shape_string(tensor.shape()), shape_string(expected_shape));
  return tensor;
}

template Tensor<float> SafetensorsFile::get<float>(const std::string&) const;
template Tensor<double> SafetensorsFile::get<double>(const std::string&) const;
template Tensor<int64_t> SafetensorsFile::get<int64_t>(const std::string&) const;
template Tensor<uint8_t> SafetensorsFile::get<uint8_t>(const std::string&) const;
template Tensor<float> SafetensorsFile::get<float>(const std::string&, const Shape&) const;
template Tensor<double> SafetensorsFile::get<double>(const std::string&, const Shape&) const;
template Tensor<int64_t> SafetensorsFile::get<int64_t>(const std::string&, const Shape&) const;
template Tensor<uint8_t> SafetensorsFile::get<uint8_t>(const std::string&, const Shape&) const;

std::optional<Shape> first_non_finite(const AnyTensor& tensor) {
  return std::visit(
      [](const auto& typed) -> std::optional<Shape> {
        using T = typename std::decay_t<decltype(typed)>::value_type;
        if constexpr (std::is_floating_point_v<T>) {
          const Tensor<T> contiguous = typed.detach().contiguous();
          if (const std::optional<int64_t> flat = first_non_finite_offset(contiguous)) {
            return unravel_index(*flat, contiguous.shape());
          }
        }
        return std::nullopt;
      },
      tensor);
}

// ---- modules ----

template <typename T>
requires std::is_floating_point_v<T>
void save_module(const std::string& path, const nn::Module<T>& module, const NamedTensors& extra,
                 const Metadata& metadata, bool overwrite) {
  NamedTensors all;
  for (const auto& [name, parameter] : module.named_parameters()) all.emplace_back(name, parameter);
  all.insert(all.end(), extra.begin(), extra.end());
  save_safetensors(path, all, metadata, overwrite);
}

template <typename T>
requires std::is_floating_point_v<T> ModuleCheckpoint load_module(const std::string& path, nn::Module<T>& module,
                                                                  UnexpectedTensors unexpected) {
  return load_module(load_safetensors(path), module, unexpected);
}

template <typename T>
requires std::is_floating_point_v<T> ModuleCheckpoint load_module(const SafetensorsFile& file, nn::Module<T>& module,
                                                                  UnexpectedTensors unexpected) {
  auto parameters = module.named_parameters();
  TensorTable expected;
  for (const auto& [name, parameter] : parameters) expected.push_back({name, dtype_for<T>(), parameter.shape()});

  // Check everything first, so that a mismatch leaves the module untouched.
  std::vector<std::string> problems = tensor_table_problems(file, expected, unexpected, "the module needs");
  for (const auto& [name, parameter] : parameters) {
    const Tensor<T>* stored = file.contains(name) ? std::get_if<Tensor<T>>(&file.at(name)) : nullptr;
    if (stored == nullptr || stored->shape() != parameter.shape()) continue;  // a problem already
    if (const std::optional<int64_t> bad = first_non_finite_offset(*stored)) {
      // One NaN or infinity in a weight spreads to every output it touches.
      problems.push_back(fmt::format("parameter '{}' holds {} at index {} (its first value that is not finite)", name,
                                     stored->data()[*bad], shape_string(unravel_index(*bad, parameter.shape()))));
    }
  }
  ATTEND_CHECK(problems.empty(), ValueError, "load_module: '{}' does not fit the module: {}", file.path(),
               join_problems(problems));

  ModuleCheckpoint checkpoint{{}, file.metadata()};
  std::set<std::string> parameter_names;
  for (const auto& [name, parameter] : parameters) parameter_names.insert(name);
  for (const auto& [name, tensor] : file.tensors()) {
    if (parameter_names.count(name) == 0) checkpoint.extra.emplace_back(name, tensor);
  }
  for (auto& [name, parameter] : parameters) parameter.copy_from(std::get<Tensor<T>>(file.at(name)));
  return checkpoint;
}

template void save_module<float>(const std::string&, const nn::Module<float>&, const NamedTensors&, const Metadata&,
                                 bool);
template void save_module<double>(const std::string&, const nn::Module<double>&, const NamedTensors&, const Metadata&,
                                  bool);
template ModuleCheckpoint load_module<float>(const std::string&, nn::Module<float>&, UnexpectedTensors);
template ModuleCheckpoint load_module<double>(const std::string&, nn::Module<double>&, UnexpectedTensors);
template ModuleCheckpoint load_module<float>(const SafetensorsFile&, nn::Module<float>&, UnexpectedTensors);
template ModuleCheckpoint load_module<double>(const SafetensorsFile&, nn::Module<double>&, UnexpectedTensors);

}  // namespace attend::io
