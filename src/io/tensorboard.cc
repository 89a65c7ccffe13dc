#include "attend/io/tensorboard.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/io/atomic_file.h"
#include "attend/io/png_header.h"

namespace attend::io {
namespace {

// ---- protocol buffer encoding: https://protobuf.dev/programming-guides/encoding/ ----
enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_key(std::string& out, uint32_t field, WireType type) { put_varint(out, (uint64_t{field} << 3) | type); }

void put_varint_field(std::string& out, uint32_t field, uint64_t value) {
  put_key(out, field, kVarint);
  put_varint(out, value);
}

void put_bytes_field(std::string& out, uint32_t field, const std::string& bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out += bytes;
}

template <typename F>
void put_fixed_field(std::string& out, uint32_t field, F value) {
  static_assert(sizeof(F) == 4 || sizeof(F) == 8);
  put_key(out, field, sizeof(F) == 8 ? kFixed64 : kFixed32);
  char bytes[sizeof(F)];
  std::memcpy(bytes, &value, sizeof(F));  // little-endian on every machine attend builds for
  out.append(bytes, sizeof(F));
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Event { wall_time = now, step, summary = Summary { value = [value] } }
std::string summary_event(const std::string& value, int64_t step) {
  std::string summary, event;
  put_bytes_field(summary, 1, value);
  put_fixed_field(event, 1, now_seconds());
  put_varint_field(event, 2, static_cast<uint64_t>(step));
  put_bytes_field(event, 5, summary);
  return event;
}

uint32_t masked_crc(const void* data, size_t size) {
  const uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  // Reflected CRC with the Castagnoli polynomial 0x1EDC6F41 (reversed: 0x82F63B78), one table
  // lookup per byte.
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xffffffffu;
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ bytes[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

TensorBoardWriter::TensorBoardWriter(const std::string& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  ATTEND_CHECK(!error, IoError, "tensorboard: cannot create '{}': {}", directory, error.message());
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  const auto seconds = static_cast<int64_t>(now_seconds());
  // The pid and a counter keep two writers of one process, or two processes, apart.
  static int counter = 0;
  path_ = (std::filesystem::path(directory) /
           fmt::format("events.out.tfevents.{}.{}.{}.{}", seconds, host, getpid(), counter++))
              .string();
  file_ = std::fopen(path_.c_str(), "wbx");  // "x": fail rather than replace an existing file
  ATTEND_CHECK(file_ != nullptr, IoError, "tensorboard: cannot create '{}': {}", path_, std::strerror(errno));
  std::string event;
  put_fixed_field(event, 1, now_seconds());
  put_bytes_field(event, 3, "brain.Event:2");
  write_event(event);
  flush();
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void TensorBoardWriter::write_event(const std::string& event) {
  const uint64_t length = event.size();
  const uint32_t length_crc = masked_crc(&length, sizeof length);
  const uint32_t data_crc = masked_crc(event.data(), event.size());
  const bool ok = std::fwrite(&length, sizeof length, 1, file_) == 1 &&
                  std::fwrite(&length_crc, sizeof length_crc, 1, file_) == 1 &&
                  std::fwrite(event.data(), 1, event.size(), file_) == event.size() &&
                  std::fwrite(&data_crc, sizeof data_crc, 1, file_) == 1;
  ATTEND_CHECK(ok, IoError, "tensorboard: cannot write '{}': {}", path_, std::strerror(errno));
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  std::string summary_value;
  put_bytes_field(summary_value, 1, tag);
  put_fixed_field(summary_value, 2, static_cast<float>(value));
  write_event(summary_event(summary_value, step));
}

void TensorBoardWriter::add_png(const std::string& tag, const std::vector<uint8_t>& png, int64_t height, int64_t width,
                                int64_t channels, int64_t step) {
  ATTEND_CHECK(height > 0 && width > 0 && (channels == 1 || channels == 3 || channels == 4), ValueError,
               "tensorboard: image '{}' must be H x W x {{1, 3, 4}} with H, W > 0, got {} x {} x {}", tag, height,
               width, channels);
  const std::string_view bytes(reinterpret_cast<const char*>(png.data()), png.size());
  parse_png_header(bytes, fmt::format("tensorboard: image '{}'", tag));
  std::string image, summary_value;
  put_varint_field(image, 1, static_cast<uint64_t>(height));
  put_varint_field(image, 2, static_cast<uint64_t>(width));
  put_varint_field(image, 3, static_cast<uint64_t>(channels));
  put_bytes_field(image, 4, std::string(png.begin(), png.end()));
  put_bytes_field(summary_value, 1, tag);
  put_bytes_field(summary_value, 4, image);
  write_event(summary_event(summary_value, step));
}

void TensorBoardWriter::flush() {
  ATTEND_CHECK(std::fflush(file_) == 0, IoError, "tensorboard: cannot write '{}': {}", path_, std::strerror(errno));
}

}  // namespace attend::io
