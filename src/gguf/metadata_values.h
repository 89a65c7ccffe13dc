// Reading GGUF metadata values (gguf_file.cc's helper).
#pragma once

#include "attend/gguf/gguf_file.h"
#include "gguf/byte_reader.h"

namespace attend::gguf {

// Reads one value of `type` at the reader's position; arrays recursively, at most `depth_left`
// levels deep. Counts are checked against the bytes left before anything is reserved.
Value read_value(ByteReader& reader, ValueType type, int depth_left);

}  // namespace attend::gguf
