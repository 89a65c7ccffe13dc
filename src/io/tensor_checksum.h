// A checksum that attend's own safetensors files carry in their metadata, so that a damaged file
// (a flipped exponent bit, a zeroed block, an edited size in the metadata) is refused on load
// instead of giving nonsense. Files without it (every file written elsewhere) load as before.
//
//   metadata["attend.checksum"] = "crc32:" + 8 hex digits of zlib's CRC-32 over, in order:
//     each tensor, by name (byte order):  name \0 dtype \0 shape ("2,3"; "" for a scalar) \0
//                                          its elements, row-major, little-endian
//     each other metadata entry, by key:  key \0 value \0
//
// CRC-32 finds every error of up to 32 consecutive bits and all but 2^-32 of the rest: bit rot,
// not an attacker (the file's author can always write a matching checksum).
#pragma once

#include <string>
#include <string_view>

#include "attend/io/safetensors.h"

namespace attend::io {

inline constexpr std::string_view kChecksumKey = "attend.checksum";

// "crc32:1a2b3c4d" for `tensors` and `metadata` (its kChecksumKey entry, if any, left out).
std::string tensor_checksum(const NamedTensors& tensors, const Metadata& metadata);

}  // namespace attend::io
