// Numbers in a checkpoint's metadata, which safetensors stores as strings: the whole string must
// be one number in the stated range, or the checkpoint is refused with the key, the text and the
// range in the message (a file from elsewhere is untrusted input, not a configuration to guess).
#pragma once

#include <cstdint>
#include <string>

#include "attend/io/safetensors.h"

namespace attend::io {

// The integer under `key`, in [min, max]: decimal digits with an optional '-', nothing else.
// ValueError naming `source`, the key and the text when it is missing, not such an integer, or
// out of range.
int64_t metadata_integer(const Metadata& metadata, const std::string& key, int64_t min, int64_t max,
                         const std::string& source);

// The finite real under `key`, in [min, max] (std::from_chars' general format: "0.1", "1e-3",
// "0x1.8p+1" is not; no NaN or infinity). ValueError as above.
double metadata_real(const Metadata& metadata, const std::string& key, double min, double max,
                     const std::string& source);

}  // namespace attend::io
