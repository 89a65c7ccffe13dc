#include "gguf/metadata_values.h"

#include <algorithm>

namespace attend::gguf {
namespace {

// The fewest bytes one value of `type` takes in the file (a string: its 8-byte length; an array:
// its type and count), so that a declared count can be checked against the bytes left.
uint64_t minimum_bytes(ValueType type) {
  switch (type) {
    case ValueType::kUint8:
    case ValueType::kInt8:
    case ValueType::kBool:
      return 1;
    case ValueType::kUint16:
    case ValueType::kInt16:
      return 2;
    case ValueType::kUint32:
    case ValueType::kInt32:
    case ValueType::kFloat32:
      return 4;
    case ValueType::kUint64:
    case ValueType::kInt64:
    case ValueType::kFloat64:
    case ValueType::kString:
      return 8;
    case ValueType::kArray:
      return 12;
  }
  return 1;
}

bool is_known(ValueType type) { return static_cast<uint32_t>(type) <= static_cast<uint32_t>(ValueType::kFloat64); }

Value read_array(ByteReader& reader, int depth_left) {
  if (depth_left <= 0) reader.error("arrays are nested more than 8 levels deep");
  Value value{ValueType::kArray, ValueType::kUint8, std::vector<Value>{}};
  value.element_type = static_cast<ValueType>(reader.read<uint32_t>("an array's element type"));
  if (!is_known(value.element_type)) {
    reader.error(fmt::format("unknown array element type {}", static_cast<uint32_t>(value.element_type)));
  }
  const uint64_t count = reader.read<uint64_t>("an array's length");
  if (count > reader.remaining() / minimum_bytes(value.element_type)) {
    reader.error(fmt::format("an array of {} {} values does not fit in the {} bytes left", count,
                             value_type_name(value.element_type), reader.remaining()));
  }
  auto& elements = std::get<std::vector<Value>>(value.data);
  elements.reserve(count);
  for (uint64_t i = 0; i < count; ++i) elements.push_back(read_value(reader, value.element_type, depth_left - 1));
  return value;
}

}  // namespace

Value read_value(ByteReader& reader, ValueType type, int depth_left) {
  switch (type) {
    case ValueType::kUint8:
      return {type, type, uint64_t{reader.read<uint8_t>("a uint8")}};
    case ValueType::kInt8:
      return {type, type, int64_t{reader.read<int8_t>("an int8")}};
    case ValueType::kUint16:
      return {type, type, uint64_t{reader.read<uint16_t>("a uint16")}};
    case ValueType::kInt16:
      return {type, type, int64_t{reader.read<int16_t>("an int16")}};
    case ValueType::kUint32:
      return {type, type, uint64_t{reader.read<uint32_t>("a uint32")}};
    case ValueType::kInt32:
      return {type, type, int64_t{reader.read<int32_t>("an int32")}};
    case ValueType::kUint64:
      return {type, type, reader.read<uint64_t>("a uint64")};
    case ValueType::kInt64:
      return {type, type, reader.read<int64_t>("an int64")};
    case ValueType::kFloat32:
      return {type, type, double{reader.read<float>("a float32")}};
    case ValueType::kFloat64:
      return {type, type, reader.read<double>("a float64")};
    case ValueType::kString:
      return {type, type, reader.read_string("a string")};
    case ValueType::kArray:
      return read_array(reader, depth_left);
    case ValueType::kBool: {
      const uint8_t byte = reader.read<uint8_t>("a bool");
      if (byte > 1) reader.error(fmt::format("a bool must be 0 or 1, not {}", byte));
      return {type, type, byte == 1};
    }
  }
  reader.error(fmt::format("unknown value type {}", static_cast<uint32_t>(type)));
}

std::string_view value_type_name(ValueType type) {
  constexpr std::string_view kNames[] = {"uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
                                         "bool",  "string", "array",  "uint64", "int64",  "float64"};
  const auto index = static_cast<uint32_t>(type);
  return index < std::size(kNames) ? kNames[index] : "unknown";
}

}  // namespace attend::gguf
