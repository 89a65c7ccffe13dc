// Corrupt safetensors files, each built byte by byte: every one is rejected with its own message
// naming the file (run under ASan/UBSan in the sanitizer build).
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "attend/io/atomic_file.h"
#include "attend/io/safetensors.h"
#include "io/io_fixtures.h"

namespace attend {
namespace {

using io_fixtures::TempDir;
using io_fixtures::write_bytes;

std::string le64(uint64_t n) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return bytes;
}

// A file with `header` (its length prefixed) followed by `data`.
std::string with_header(const std::string& header, const std::string& data = "") {
  return le64(header.size()) + header + data;
}

// One F32 entry named "a" with the given JSON fields.
std::string entry(const std::string& dtype, const std::string& shape, const std::string& offsets) {
  return fmt::format(R"("a":{{"dtype":{},"shape":{},"data_offsets":{}}})", dtype, shape, offsets);
}

// "{" and then `count` empty U8 tensors "t0", "t1", ..., without the closing brace.
std::string many_empty_tensors(int count) {
  std::string header = "{";
  for (int i = 0; i < count; ++i) {
    if (i > 0) header += ",";
    header += fmt::format(R"("t{}":{{"dtype":"U8","shape":[0],"data_offsets":[0,0]}})", i);
  }
  return header;
}

struct CorruptCase {
  std::string name;
  std::string bytes;
  std::string message;  // a part of the error message
};

std::vector<CorruptCase> corrupt_cases() {
  const std::string eight(8, '\x01');
  const std::string good = entry(R"("F32")", "[2]", "[0,8]");
  return {
      {"empty_file", "", "0 bytes long, too short for the 8-byte header length"},
      {"truncated_length", std::string("\x10\0\0\0\0", 5), "5 bytes long, too short"},
      {"huge_header_length", le64(~uint64_t{0}) + "{}", "exceeds the limit of 100000000 bytes"},
      {"header_just_over_limit", le64(100000001) + "{}", "header length 100000001 exceeds the limit"},
      {"header_past_eof", le64(100) + "{}" + eight, "header length 100 runs past the end of the file (18 bytes)"},
      // Another kind of file given as a checkpoint: its first 8 bytes taken for the header length.
      {"png_image", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16),
       "not a safetensors file: the header length 727905341920923785 exceeds the limit"},
      {"random_bytes", le64(5'000'000) + std::string(100, '\x5a'),
       "not a safetensors file: the header length 5000000 runs past the end of the file (108 bytes)"},
      {"empty_header", le64(0), "the header is empty"},
      {"blank_header", with_header("        "), "the header is empty"},
      {"byte_order_mark", with_header("\xEF\xBB\xBF{}"), "starting with '{', not byte 0xef"},
      {"invalid_json", with_header(R"({"a":)"), "the header is not valid JSON"},
      {"garbage_after_object", with_header("{} x"), "the header is not valid JSON"},
      // nlohmann::json stopped at the NUL: the first two loaded as empty files, the third as a file
      // whose data belongs to no tensor.
      {"nul_then_garbage", with_header(std::string("{}\0 x", 5)), "NUL byte at header offset 2"},
      {"nul_padding", with_header(std::string("{}\0\0\0\0\0\0", 8)), "NUL byte at header offset 2"},
      {"nul_then_tensor", with_header(std::string("{}\0,", 4) + good + "}", eight), "NUL byte at header offset 2"},
      {"json_array", with_header("[]"), "starting with '{', not byte 0x5b"},
      {"control_character_in_name", with_header("{\"a\nb\":1}"), "the header is not valid JSON"},
      {"lone_surrogate_escape", with_header(R"({"\ud800":1})"), "the header is not valid JSON"},
      {"non_utf8_name", with_header("{\"a\xff\":1}"), "not valid UTF-8 (byte 0xff at header offset 3)"},
      {"overlong_utf8_name", with_header("{\"\xc0\xaf\":1}"), "not valid UTF-8 (byte 0xc0 at header offset 2)"},
      {"utf8_surrogate_bytes", with_header("{\"\xed\xa0\x80\":1}"), "not valid UTF-8 (byte 0xed"},
      {"entry_not_object", with_header(R"({"a":5})"), "tensor 'a': the entry must be an object"},
      {"missing_dtype", with_header(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", eight),
       "tensor 'a': missing \"dtype\""},
      {"missing_shape", with_header(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", eight),
       "tensor 'a': missing \"shape\""},
      {"missing_data_offsets", with_header(R"({"a":{"dtype":"F32","shape":[2]}})", eight),
       "tensor 'a': missing \"data_offsets\""},
      {"extra_key", with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"offset":0}})", eight),
       "tensor 'a': unexpected key 'offset'"},
      {"unknown_dtype", with_header("{" + entry(R"("F33")", "[2]", "[0,8]") + "}", eight),
       "tensor 'a': unknown dtype 'F33'"},
      {"lowercase_dtype", with_header("{" + entry(R"("f32")", "[2]", "[0,8]") + "}", eight), "unknown dtype 'f32'"},
      {"unsupported_dtype", with_header("{" + entry(R"("I32")", "[2]", "[0,8]") + "}", eight),
       "dtype I32 is not supported by attend"},
      {"dtype_not_string", with_header("{" + entry("7", "[2]", "[0,8]") + "}", eight),
       "tensor 'a': dtype must be a string, got 7"},
      {"shape_not_list", with_header("{" + entry(R"("F32")", "2", "[0,8]") + "}", eight),
       "tensor 'a': shape must be a list of non-negative integers, got 2"},
      {"negative_shape", with_header("{" + entry(R"("F32")", "[-2]", "[0,8]") + "}", eight),
       "shape must be a list of non-negative integers, got [-2]"},
      {"fractional_shape", with_header("{" + entry(R"("F32")", "[2.5]", "[0,8]") + "}", eight),
       "shape must be a list of non-negative integers, got [2.5]"},
      {"float_shape", with_header("{" + entry(R"("F32")", "[2.0]", "[0,8]") + "}", eight),
       "shape must be a list of non-negative integers, got [2.0]"},
      {"string_shape", with_header("{" + entry(R"("F32")", R"(["2"])", "[0,8]") + "}", eight),
       "shape must be a list of non-negative integers"},
      {"shape_beyond_int64", with_header("{" + entry(R"("F32")", "[9223372036854775808]", "[0,8]") + "}", eight),
       "shape must be a list of non-negative integers"},
      {"numel_overflow", with_header("{" + entry(R"("F32")", "[4294967296,4294967296,0]", "[0,0]") + "}"),
       "is too large (its size overflows int64)"},
      {"bytes_overflow", with_header("{" + entry(R"("F64")", "[4611686018427387904]", "[0,8]") + "}", eight),
       "4611686018427387904 elements of F64 take more bytes than fit in int64"},
      {"offsets_not_list", with_header("{" + entry(R"("F32")", "[2]", "8") + "}", eight),
       "tensor 'a': data_offsets must be two non-negative integers [begin, end], got 8"},
      {"offsets_three_numbers", with_header("{" + entry(R"("F32")", "[2]", "[0,8,8]") + "}", eight),
       "data_offsets must be two non-negative integers"},
      {"offsets_negative", with_header("{" + entry(R"("F32")", "[2]", "[-8,0]") + "}", eight),
       "data_offsets must be two non-negative integers"},
      {"offsets_fractional", with_header("{" + entry(R"("F32")", "[2]", "[0,8.0]") + "}", eight),
       "data_offsets must be two non-negative integers"},
      {"offsets_reversed", with_header("{" + entry(R"("F32")", "[2]", "[8,0]") + "}", eight),
       "data_offsets [8, 0] end before they begin"},
      {"offsets_past_end", with_header("{" + entry(R"("F32")", "[4]", "[0,16]") + "}", eight),
       "data_offsets [0, 16] run past the end of the data buffer (8 bytes)"},
      {"offsets_past_int64", with_header("{" + entry(R"("F32")", "[2]", "[0,18446744073709551615]") + "}", eight),
       "data_offsets must be two non-negative integers"},
      {"size_mismatch", with_header("{" + entry(R"("F32")", "[3]", "[0,8]") + "}", eight),
       "data_offsets [0, 8] hold 8 bytes, but F32 of shape (3) needs 12 bytes"},
      {"overlap",
       with_header("{" + good + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", eight + "1234"),
       "tensors 'a' [0, 8) and 'b' [4, 12) overlap"},
      {"empty_tensor_inside_another",
       with_header("{" + good + R"(,"z":{"dtype":"U8","shape":[0],"data_offsets":[4,4]}})", eight),
       "tensors 'a' [0, 8) and 'z' [4, 4) overlap"},
      {"gap",
       with_header("{" + good + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})", eight + eight + "1234"),
       "bytes [8, 12) of the data buffer belong to no tensor (a gap before 'b')"},
      {"gap_at_start", with_header("{" + entry(R"("F32")", "[2]", "[4,12]") + "}", eight + "1234"),
       "bytes [0, 4) of the data buffer belong to no tensor"},
      {"trailing_bytes", with_header("{" + good + "}", eight + "1234"),
       "the last 4 bytes of the data buffer (of 12) belong to no tensor"},
      {"data_without_tensors", with_header("{}", "1234"), "the last 4 bytes of the data buffer (of 4)"},
      {"duplicate_name", with_header("{" + good + "," + good + "}", eight), "the name 'a' appears twice"},
      {"duplicate_key_in_entry",
       with_header(R"({"a":{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]}})", eight),
       "the key 'dtype' appears twice in the entry of 'a'"},
      {"duplicate_metadata", with_header(R"({"__metadata__":{},"__metadata__":{}})"),
       "the name '__metadata__' appears twice"},
      {"duplicate_metadata_key", with_header(R"({"__metadata__":{"k":"1","k":"2"}})"),
       "the key 'k' appears twice in the entry of '__metadata__'"},
      {"duplicate_after_many_names", with_header(many_empty_tensors(50'000) + ",\"t0\":1}"),
       "the name 't0' appears twice"},
      {"metadata_not_object", with_header(R"({"__metadata__":"pt"})"),
       "__metadata__ must be an object of strings, got \"pt\""},
      {"metadata_non_string", with_header(R"({"__metadata__":{"epoch":3}})"),
       "__metadata__ value of 'epoch' must be a string, got 3"},
      {"metadata_null", with_header(R"({"__metadata__":{"k":null}})"),
       "__metadata__ value of 'k' must be a string, got null"},
      {"deep_nesting", with_header("{" + entry(R"("F32")", "[[2]]", "[0,8]") + "}", eight),
       "the header nests too deeply (inside 'a')"},
      {"nesting_bomb", with_header("{\"a\":" + std::string(100000, '[')), "the header nests too deeply"},
  };
}

// Names the case in test listings (and ctest names) instead of dumping its bytes.
void PrintTo(const CorruptCase& corrupt_case, std::ostream* out) { *out << corrupt_case.name; }

class SafetensorsCorrupt : public ::testing::TestWithParam<CorruptCase> {};

TEST_P(SafetensorsCorrupt, IsRejectedWithAClearMessage) {
  TempDir dir;
  const std::string path = dir.file("corrupt.safetensors");
  write_bytes(path, GetParam().bytes);
  try {
    io::load_safetensors(path);
    FAIL() << "accepted a corrupt file";
  } catch (const io::FormatError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(GetParam().message), std::string::npos) << message;
    EXPECT_NE(message.find(path), std::string::npos) << "the message names the file: " << message;
  }
}

INSTANTIATE_TEST_SUITE_P(Safetensors, SafetensorsCorrupt, ::testing::ValuesIn(corrupt_cases()),
                         [](const ::testing::TestParamInfo<CorruptCase>& info) { return info.param.name; });

TEST(SafetensorsLoad, MissingFileIsAnIoError) {
  TempDir dir;
  EXPECT_THROW(io::load_safetensors(dir.file("absent.safetensors")), io::IoError);
}

// The IoError message for loading `path`, or what went wrong instead. Runs in a child process that
// an alarm kills, so that a load that blocks (as opening a FIFO did) fails the test, not hangs it.
std::string load_error_within_seconds(const std::string& path, const std::string& message_part) {
  const int code = io_fixtures::run_in_child([&] {
    ::alarm(10);
    try {
      io::load_safetensors(path);
      return 2;
    } catch (const io::IoError& error) {
      const std::string message = error.what();
      return message.find(message_part) != std::string::npos && message.find(path) != std::string::npos ? 0 : 3;
    } catch (...) {
      return 4;
    }
  });
  switch (code) {
    case 0:
      return "ok";
    case 2:
      return "loaded without an error";
    case 3:
      return "an IoError without '" + message_part + "' and the path";
    case 4:
      return "another exception than IoError";
    default:
      return "killed (blocked for 10 s, or crashed)";
  }
}

TEST(SafetensorsLoad, NonRegularFilesAreIoErrorsAndDoNotBlock) {
  TempDir dir;
  const std::string fifo = dir.file("fifo.safetensors");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  EXPECT_EQ(load_error_within_seconds(fifo, "is not a regular file (it is a FIFO (named pipe))"), "ok");
  EXPECT_EQ(load_error_within_seconds(dir.file("."), "is not a regular file (it is a directory)"), "ok");
  if (std::filesystem::is_character_file("/dev/null")) {
    EXPECT_EQ(load_error_within_seconds("/dev/null", "is not a regular file (it is a character device)"), "ok");
  }
}

}  // namespace
}  // namespace attend
