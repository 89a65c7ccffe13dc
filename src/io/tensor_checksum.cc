// The checksum of attend's safetensors files (io/tensor_checksum.h).
#include "io/tensor_checksum.h"

#include <algorithm>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <zlib.h>

namespace attend::io {

namespace {

// zlib's crc32 takes at most 2^32 - 1 bytes at a time.
uLong add_bytes(uLong crc, const void* data, size_t size) {
  const auto* bytes = static_cast<const Bytef*>(data);
  while (size > 0) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, bytes, chunk);
    bytes += chunk;
    size -= chunk;
  }
  return crc;
}

uLong add_field(uLong crc, std::string_view text) {
  crc = add_bytes(crc, text.data(), text.size());
  return add_bytes(crc, "", 1);  // the \0 after it
}

}  // namespace

std::string tensor_checksum(const NamedTensors& tensors, const Metadata& metadata) {
  std::vector<const std::pair<std::string, AnyTensor>*> by_name;
  for (const auto& named : tensors) by_name.push_back(&named);
  std::sort(by_name.begin(), by_name.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  uLong crc = crc32(0, nullptr, 0);
  for (const auto* named : by_name) {
    const AnyTensor& tensor = named->second;
    crc = add_field(crc, named->first);
    crc = add_field(crc, dtype_name(dtype_of(tensor)));
    crc = add_field(crc, fmt::format("{}", fmt::join(shape_of(tensor), ",")));
    std::visit(
        [&](const auto& typed) {
          const auto contiguous = typed.detach().contiguous();
          crc = add_bytes(crc, contiguous.data(), static_cast<size_t>(contiguous.numel()) * sizeof(*contiguous.data()));
        },
        tensor);
  }
  for (const auto& [key, value] : metadata) {
    if (key == kChecksumKey) continue;
    crc = add_field(crc, key);
    crc = add_field(crc, value);
  }
  return fmt::format("crc32:{:08x}", crc);
}

}  // namespace attend::io
