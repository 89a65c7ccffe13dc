// Safetensors checkpoints and atomic files: round trips of every dtype, atomicity under failures
// and crashes (simulated in forked children), one test per corrupt file, module save/load, and
// interoperability with the `safetensors` Python package.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "attend/core/random.h"
#include "attend/io/atomic_file.h"
#include "attend/io/safetensors.h"
#include "attend/nn/linear.h"

namespace attend {
namespace {

namespace fs = std::filesystem;
using io::AnyTensor;
using io::NamedTensors;

// A fresh directory for one test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = fmt::format("attend_io_{}_{}_{}", ::getpid(), test->test_suite_name(), test->name());
    for (char& c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    }
    path_ = fs::temp_directory_path() / name;
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // The names in the directory, to check that no temporary file is left behind.
  std::set<std::string> entries() const {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(path_)) names.insert(entry.path().filename().string());
    return names;
  }

 private:
  fs::path path_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Bitwise equality of dtype, shape and elements (NaN payloads and -0 included).
void expect_identical(const AnyTensor& expected, const AnyTensor& actual, const std::string& name) {
  SCOPED_TRACE(name);
  ASSERT_EQ(expected.index(), actual.index()) << "dtype differs";
  std::visit(
      [&](const auto& want) {
        using T = typename std::decay_t<decltype(want)>::value_type;
        const auto& got = std::get<Tensor<T>>(actual);
        ASSERT_EQ(want.shape(), got.shape());
        // Tensor::empty's strides; is_contiguous() says false for zero-size shapes such as (3, 0, 2).
        EXPECT_EQ(got.strides(), contiguous_strides(got.shape()));
        EXPECT_FALSE(got.requires_grad());
        const std::vector<T> a = want.to_vector();
        const std::vector<T> b = got.to_vector();
        ASSERT_EQ(a.size(), b.size());
        if (!a.empty()) {  // memcmp may not be given the null data() of an empty vector
          EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(T)));
        }
      },
      expected);
}

// Runs `body` in a forked child and returns its exit code; the child exits without running
// destructors or flushing anything, as a crashed or killed process would.
template <typename Body>
int run_in_child(Body body) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(body());
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

NamedTensors every_kind_of_tensor() {
  Generator generator(7);
  const float inf = std::numeric_limits<float>::infinity();
  return {
      {"f32", Tensor<float>::randn({2, 3, 4}, generator)},
      {"u8", MaskTensor::from_vector({2, 3}, {0, 1, 2, 127, 128, 255})},
      {"f64", Tensor<double>::randn({5}, generator)},
      {"i64", IndexTensor::from_vector({4}, {std::numeric_limits<int64_t>::min(), -1, 0,
                                             std::numeric_limits<int64_t>::max()})},
      {"special", Tensor<float>::from_vector({5}, {std::nanf(""), inf, -inf, -0.0f,
                                                   std::numeric_limits<float>::denorm_min()})},
      {"scalar_f32", Tensor<float>::scalar(-2.5f)},
      {"scalar_f64", Tensor<double>::scalar(1e-300)},
      {"scalar_i64", IndexTensor::scalar(42)},
      {"scalar_u8", MaskTensor::scalar(1)},
      {"empty_f32", Tensor<float>::zeros({3, 0, 2})},
      {"empty_f64", Tensor<double>::zeros({0})},
      {"empty_i64", IndexTensor::zeros({0, 0})},
      {"empty_u8", MaskTensor::zeros({0})},
      // A strided view: the file holds it contiguous.
      {"transposed", Tensor<float>::randn({3, 4}, generator).transpose(0, 1)},
      {"unicode name ✓ ünï", Tensor<float>::scalar(3.0f)},
  };
}

// ---- round trips ----

TEST(SafetensorsRoundTrip, EveryDtypeRankAndSize) {
  TempDir dir;
  const NamedTensors tensors = every_kind_of_tensor();
  const io::Metadata metadata = {{"format", "pt"}, {"note", "ünïcode ✓"}, {"empty", ""}};
  io::save_safetensors(dir.file("all.safetensors"), tensors, metadata);

  const io::SafetensorsFile file = io::load_safetensors(dir.file("all.safetensors"));
  EXPECT_EQ(file.metadata(), metadata);
  ASSERT_EQ(file.tensors().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(file.tensors()[i].first, tensors[i].first) << "header order is kept";
    expect_identical(tensors[i].second, file.tensors()[i].second, tensors[i].first);
  }
  EXPECT_EQ(dir.entries(), std::set<std::string>{"all.safetensors"});
}

TEST(SafetensorsRoundTrip, HeaderIsPaddedToEightBytes) {
  TempDir dir;
  for (int length = 1; length <= 9; ++length) {
    const std::string path = dir.file(fmt::format("n{}.safetensors", length));
    io::save_safetensors(path, {{std::string(length, 'x'), Tensor<float>::scalar(1.0f)}});
    const std::string bytes = read_bytes(path);
    uint64_t header_length = 0;
    std::memcpy(&header_length, bytes.data(), 8);
    EXPECT_EQ(header_length % 8, 0u);
    EXPECT_EQ(bytes[8], '{');
    EXPECT_EQ(bytes.size(), 8 + header_length + 4);
    EXPECT_EQ(io::load_safetensors(path).get<float>(std::string(length, 'x'), {}).item(), 1.0f);
  }
}

TEST(SafetensorsRoundTrip, NoTensors) {
  TempDir dir;
  io::save_safetensors(dir.file("none.safetensors"), {});
  EXPECT_EQ(read_bytes(dir.file("none.safetensors")), std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
  const io::SafetensorsFile file = io::load_safetensors(dir.file("none.safetensors"));
  EXPECT_TRUE(file.tensors().empty());
  EXPECT_TRUE(file.metadata().empty());
}

TEST(SafetensorsRoundTrip, TypedAccessorsNameTheProblem) {
  TempDir dir;
  const std::string path = dir.file("a.safetensors");
  io::save_safetensors(path, {{"w", Tensor<float>::zeros({2, 3})}, {"ids", IndexTensor::arange(3)}});
  const io::SafetensorsFile file = io::load_safetensors(path);
  EXPECT_EQ(file.names(), (std::vector<std::string>{"w", "ids"}));
  EXPECT_TRUE(file.contains("w"));
  EXPECT_EQ(file.get<float>("w", {2, 3}).shape(), (Shape{2, 3}));
  EXPECT_EQ(file.get<int64_t>("ids").to_vector(), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(io::dtype_of(file.at("ids")), io::DType::kI64);

  const auto message_of = [](auto&& call) -> std::string {
    try {
      call();
    } catch (const Error& error) {
      return error.what();
    }
    return "no error";
  };
  const std::string missing = message_of([&] { file.get<float>("v"); });
  EXPECT_NE(missing.find("no tensor named 'v' (it has 'w', 'ids')"), std::string::npos) << missing;
  EXPECT_NE(missing.find(path), std::string::npos) << missing;
  EXPECT_THROW(file.get<float>("v"), ValueError);
  const std::string dtype = message_of([&] { file.get<double>("w"); });
  EXPECT_NE(dtype.find("tensor 'w' has dtype F32, not F64"), std::string::npos) << dtype;
  EXPECT_THROW(file.get<double>("w"), ValueError);
  const std::string shape = message_of([&] { file.get<float>("w", {3, 2}); });
  EXPECT_NE(shape.find("tensor 'w' has shape (2, 3), expected (3, 2)"), std::string::npos) << shape;
  EXPECT_THROW(file.get<float>("w", {3, 2}), ShapeError);
}

// Valid, though attend does not write it so: whitespace around the header, data not in header
// order, and zero-size tensors at the same offset as others.
TEST(SafetensorsRoundTrip, ReadsAnyValidLayout) {
  TempDir dir;
  const std::string header =
      " \n"
      R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},)"
      R"("z":{"dtype":"F64","shape":[0,5],"data_offsets":[0,0]},)"
      R"("a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}   )";
  std::string bytes(8, '\0');
  const uint64_t length = header.size();
  std::memcpy(bytes.data(), &length, 8);
  const float a = 1.5f;
  bytes += header + std::string(reinterpret_cast<const char*>(&a), 4) + "\x07\x09";
  write_bytes(dir.file("x.safetensors"), bytes);
  const io::SafetensorsFile file = io::load_safetensors(dir.file("x.safetensors"));
  EXPECT_EQ(file.names(), (std::vector<std::string>{"b", "z", "a"}));
  EXPECT_EQ(file.get<float>("a", {}).item(), 1.5f);
  EXPECT_EQ(file.get<uint8_t>("b", {2}).to_vector(), (std::vector<uint8_t>{7, 9}));
  EXPECT_EQ(file.get<double>("z", {0, 5}).numel(), 0);
}

// ---- what save refuses, before touching the disk ----

TEST(SafetensorsSave, RejectsBadInputBeforeWriting) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  const auto one = Tensor<float>::scalar(1.0f);
  EXPECT_THROW(io::save_safetensors(path, {{"a", one}, {"a", one}}), ValueError);
  EXPECT_THROW(io::save_safetensors(path, {{"__metadata__", one}}), ValueError);
  EXPECT_THROW(io::save_safetensors(path, {{"a", one}, {"b", Tensor<float>()}}), ValueError);
  EXPECT_THROW(io::save_safetensors(path, {{"bad \xff name", one}}), ValueError);
  EXPECT_THROW(io::save_safetensors(path, {{"a", one}}, {{"k", "\xc0\xaf"}}), ValueError);
  EXPECT_TRUE(dir.entries().empty());
}

TEST(SafetensorsSave, RefusesToOverwriteUnlessAsked) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  io::save_safetensors(path, {{"a", Tensor<float>::scalar(1.0f)}});
  const std::string old_bytes = read_bytes(path);
  try {
    io::save_safetensors(path, {{"a", Tensor<float>::scalar(2.0f)}});
    FAIL() << "overwrote without overwrite = true";
  } catch (const io::IoError& error) {
    EXPECT_NE(std::string(error.what()).find("refusing to overwrite the existing file"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("overwrite = true"), std::string::npos);
  }
  EXPECT_EQ(read_bytes(path), old_bytes);
  io::save_safetensors(path, {{"a", Tensor<float>::scalar(2.0f)}}, {}, /*overwrite=*/true);
  EXPECT_EQ(io::load_safetensors(path).get<float>("a").item(), 2.0f);
  EXPECT_EQ(dir.entries(), std::set<std::string>{"model.safetensors"});
}

// ---- atomicity ----

TEST(SafetensorsAtomicity, FailedSaveKeepsTheOldFile) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  io::save_safetensors(path, {{"a", Tensor<float>::scalar(1.0f)}});
  const std::string old_bytes = read_bytes(path);
  // Fails validation, before any file is made.
  EXPECT_THROW(io::save_safetensors(path, {{"a", Tensor<float>::ones({1000})}, {"b", Tensor<double>()}}, {}, true),
               ValueError);
  // Fails to create the temporary file.
  EXPECT_THROW(io::save_safetensors(dir.file("missing/model.safetensors"), {{"a", Tensor<float>::scalar(1.0f)}}),
               io::IoError);
  EXPECT_FALSE(fs::exists(dir.file("missing")));
  EXPECT_EQ(read_bytes(path), old_bytes);
  EXPECT_EQ(dir.entries(), std::set<std::string>{"model.safetensors"});
}

// The write itself fails half way (the file size limit stands in for a full disk).
TEST(SafetensorsAtomicity, WriteErrorMidwayKeepsTheOldFile) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  io::save_safetensors(path, {{"a", Tensor<float>::scalar(1.0f)}});
  const std::string old_bytes = read_bytes(path);
  const int code = run_in_child([&] {
    ::signal(SIGXFSZ, SIG_IGN);  // make write() fail with EFBIG instead of killing the process
    const rlimit limit{4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    try {
      io::save_safetensors(path, {{"a", Tensor<float>::ones({100000})}}, {}, true);
    } catch (const io::IoError&) {
      return 0;
    } catch (...) {
      return 2;
    }
    return 1;  // the limit did not bite
  });
  EXPECT_EQ(code, 0);
  EXPECT_EQ(read_bytes(path), old_bytes);
  EXPECT_EQ(dir.entries(), std::set<std::string>{"model.safetensors"});
}

TEST(AtomicFile, WritesCommitsAndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  {
    io::AtomicFile file(path, false);
    EXPECT_TRUE(fs::exists(file.temp_path()));
    EXPECT_EQ(fs::path(file.temp_path()).parent_path(), fs::path(path).parent_path());
    file.write("hello ", 6);
    file.write("world", 5);
    EXPECT_FALSE(fs::exists(path)) << "nothing is visible before commit";
    file.commit();
    EXPECT_THROW(file.write("!", 1), io::IoError);
    EXPECT_THROW(file.commit(), io::IoError);
  }
  EXPECT_EQ(read_bytes(path), "hello world");
  EXPECT_EQ(dir.entries(), std::set<std::string>{"out.bin"});
}

TEST(AtomicFile, ExceptionBeforeCommitKeepsTheOldFile) {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  write_bytes(path, "old");
  try {
    io::AtomicFile file(path, true);
    file.write("new, but only half", 18);
    throw std::runtime_error("serialization failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(read_bytes(path), "old");
  EXPECT_EQ(dir.entries(), std::set<std::string>{"out.bin"});
}

TEST(AtomicFile, CrashMidWriteKeepsTheOldFile) {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  write_bytes(path, "old");
  const int code = run_in_child([&] {
    io::AtomicFile file(path, true);
    file.write("new, but only half", 18);
    ::_exit(0);  // dies with the file open: no commit, no destructor
    return 1;
  });
  EXPECT_EQ(code, 0);
  EXPECT_EQ(read_bytes(path), "old");
  // The crash leaves its temporary file, under the documented name.
  const std::set<std::string> names = dir.entries();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names.count("out.bin"), 1u);
  const std::string& stray = *names.begin();  // '.' sorts before 'o'
  EXPECT_EQ(stray.rfind(".out.bin.tmp-", 0), 0u) << stray;
}

TEST(AtomicFile, RefusesExistingFileAndDirectories) {
  TempDir dir;
  write_bytes(dir.file("out.bin"), "old");
  EXPECT_THROW(io::AtomicFile(dir.file("out.bin"), false), io::IoError);
  fs::create_directories(dir.file("sub"));
  EXPECT_THROW(io::AtomicFile(dir.file("sub"), true), io::IoError);
  EXPECT_THROW(io::AtomicFile(dir.file("nowhere/out.bin"), true), io::IoError);
  EXPECT_EQ(read_bytes(dir.file("out.bin")), "old");
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"out.bin", "sub"}));
}

// Another writer creates the target while we write: without overwrite, theirs stays.
TEST(AtomicFile, TargetAppearingDuringWriteIsNotOverwritten) {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  {
    io::AtomicFile file(path, false);
    file.write("ours", 4);
    write_bytes(path, "theirs");
    EXPECT_THROW(file.commit(), io::IoError);
  }
  EXPECT_EQ(read_bytes(path), "theirs");
  EXPECT_EQ(dir.entries(), std::set<std::string>{"out.bin"});
}

// ---- corrupt files: each is built byte by byte and must be rejected with its own message ----

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
      {"empty_header", le64(0), "the header is empty"},
      {"blank_header", with_header("        "), "the header is empty"},
      {"byte_order_mark", with_header("\xEF\xBB\xBF{}"), "starting with '{', not byte 0xef"},
      {"invalid_json", with_header(R"({"a":)"), "the header is not valid JSON"},
      {"garbage_after_object", with_header("{} x"), "the header is not valid JSON"},
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
      {"lowercase_dtype", with_header("{" + entry(R"("f32")", "[2]", "[0,8]") + "}", eight),
       "unknown dtype 'f32'"},
      {"unsupported_dtype", with_header("{" + entry(R"("F16")", "[4]", "[0,8]") + "}", eight),
       "dtype F16 is not supported by attend"},
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
      {"gap", with_header("{" + good + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})", eight + eight + "1234"),
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

TEST(SafetensorsLoad, MissingFileAndDirectoryAreIoErrors) {
  TempDir dir;
  EXPECT_THROW(io::load_safetensors(dir.file("absent.safetensors")), io::IoError);
  EXPECT_THROW(io::load_safetensors(dir.file(".")), io::IoError);
}

// ---- modules ----

TEST(SafetensorsModule, RoundTripCopiesInPlaceAndReturnsExtras) {
  TempDir dir;
  const std::string path = dir.file("linear.safetensors");
  Generator first(1), second(2);
  nn::Linear<float> saved(4, 3, true, first);
  nn::Linear<float> loaded(4, 3, true, second);
  const float* weight_data = loaded.weight().data();
  io::save_module(path, saved, {{"optimizer.step", IndexTensor::scalar(10)}}, {{"epoch", "3"}});

  EXPECT_THROW(io::load_module(path, loaded), ValueError) << "kReject: optimizer.step is not a parameter";
  EXPECT_NE(loaded.weight().to_vector(), saved.weight().to_vector()) << "a failed load changes nothing";

  const io::ModuleCheckpoint checkpoint = io::load_module(path, loaded, io::UnexpectedTensors::kReturn);
  EXPECT_EQ(loaded.weight().to_vector(), saved.weight().to_vector());
  EXPECT_EQ(loaded.bias().to_vector(), saved.bias().to_vector());
  EXPECT_EQ(loaded.weight().data(), weight_data) << "parameters are updated in place";
  EXPECT_TRUE(loaded.weight().requires_grad());
  ASSERT_EQ(checkpoint.extra.size(), 1u);
  EXPECT_EQ(checkpoint.extra[0].first, "optimizer.step");
  EXPECT_EQ(std::get<IndexTensor>(checkpoint.extra[0].second).item(), 10);
  EXPECT_EQ(checkpoint.metadata.at("epoch"), "3");
}

TEST(SafetensorsModule, ReportsEveryMismatchAndChangesNothing) {
  TempDir dir;
  Generator generator(3);
  nn::Linear<float> no_bias(4, 3, false, generator);
  nn::Linear<double> in_double(4, 3, true, generator);
  io::save_module(dir.file("no_bias.safetensors"), no_bias);
  io::save_module(dir.file("double.safetensors"), in_double);

  const auto load_error = [](const std::string& path, nn::Module<float>& module) -> std::string {
    const auto before = module.parameters()[0].to_vector();
    try {
      io::load_module(path, module);
    } catch (const ValueError& error) {
      EXPECT_EQ(module.parameters()[0].to_vector(), before);
      return error.what();
    }
    return "no error";
  };
  nn::Linear<float> with_bias(4, 3, true, generator);
  const std::string missing = load_error(dir.file("no_bias.safetensors"), with_bias);
  EXPECT_NE(missing.find("parameter 'bias' (3) is missing"), std::string::npos) << missing;

  nn::Linear<float> wider(4, 5, false, generator);
  const std::string shape = load_error(dir.file("no_bias.safetensors"), wider);
  EXPECT_NE(shape.find("parameter 'weight' has shape (3, 4) in the file, the module needs (5, 4)"), std::string::npos)
      << shape;

  const std::string dtype = load_error(dir.file("double.safetensors"), with_bias);
  EXPECT_NE(dtype.find("parameter 'weight' is F64 in the file, the module needs F32"), std::string::npos) << dtype;
  EXPECT_NE(dtype.find("parameter 'bias' is F64"), std::string::npos) << dtype;

  nn::Linear<float> fewer(4, 3, false, generator);
  const std::string unexpected = load_error(dir.file("double.safetensors"), fewer);
  EXPECT_NE(unexpected.find("the file has tensors that are not parameters: 'bias'"), std::string::npos)
      << unexpected;

  EXPECT_THROW(io::save_module(dir.file("clash.safetensors"), no_bias, {{"weight", IndexTensor::scalar(1)}}),
               ValueError);
}

// ---- interoperability with the Python package (tests/io/safetensors_interop.py) ----

// "python3 <source>/tests/io/safetensors_interop.py", or empty when ATTEND_SOURCE_DIR is unset.
std::string interop_command() {
  const char* source = std::getenv("ATTEND_SOURCE_DIR");
  if (source == nullptr) return "";
  return fmt::format("python3 '{}/tests/io/safetensors_interop.py'", source);
}

int exit_code_of(const std::string& command) {
  const int status = std::system(command.c_str());
  return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The sidecar that tells the script what the file must hold. Every value is written in the
// shortest form that reads back to the same float, double or integer.
std::string expectations_json(const NamedTensors& tensors, const io::Metadata& metadata) {
  std::vector<std::string> entries;
  for (const auto& [name, tensor] : tensors) {
    std::visit(
        [&](const auto& typed) {
          using T = typename std::decay_t<decltype(typed)>::value_type;
          const char* dtype = std::is_same_v<T, float>    ? "float32"
                              : std::is_same_v<T, double> ? "float64"
                              : std::is_same_v<T, int64_t> ? "int64"
                                                           : "uint8";
          std::vector<std::string> values;
          for (const T value : typed.to_vector()) values.push_back(fmt::format("{}", +value));
          entries.push_back(fmt::format(R"("{}": {{"dtype": "{}", "shape": [{}], "values": [{}]}})", name, dtype,
                                        fmt::join(typed.shape(), ", "), fmt::join(values, ", ")));
        },
        tensor);
  }
  std::vector<std::string> pairs;
  for (const auto& [key, value] : metadata) pairs.push_back(fmt::format(R"("{}": "{}")", key, value));
  return fmt::format(R"({{"metadata": {{{}}}, "tensors": {{{}}}}})", fmt::join(pairs, ", "), fmt::join(entries, ", "));
}

TEST(SafetensorsInterop, PythonReadsOurFiles) {
  const std::string script = interop_command();
  if (script.empty()) GTEST_SKIP() << "ATTEND_SOURCE_DIR is not set; ctest sets it";
  TempDir dir;
  NamedTensors tensors;
  for (auto& named : every_kind_of_tensor()) {
    // JSON cannot spell NaN or infinity; the C++ round trip covers them.
    if (named.first != "special") tensors.push_back(named);
  }
  const io::Metadata metadata = {{"format", "pt"}, {"note", "ünïcode ✓"}};
  io::save_safetensors(dir.file("ours.safetensors"), tensors, metadata);
  write_bytes(dir.file("expected.json"), expectations_json(tensors, metadata));
  EXPECT_EQ(exit_code_of(fmt::format("{} check '{}' '{}'", script, dir.file("ours.safetensors"),
                                     dir.file("expected.json"))),
            0);

  // The checker itself must notice a wrong value.
  tensors[0].second = Tensor<float>::zeros({2, 3, 4});
  write_bytes(dir.file("wrong.json"), expectations_json(tensors, metadata));
  EXPECT_EQ(exit_code_of(fmt::format("{} check '{}' '{}' 2>/dev/null", script, dir.file("ours.safetensors"),
                                     dir.file("wrong.json"))),
            1);
}

TEST(SafetensorsInterop, WeReadPythonsFiles) {
  const std::string script = interop_command();
  if (script.empty()) GTEST_SKIP() << "ATTEND_SOURCE_DIR is not set; ctest sets it";
  TempDir dir;
  const std::string path = dir.file("numpy.safetensors");
  ASSERT_EQ(exit_code_of(fmt::format("{} write '{}'", script, path)), 0);
  const io::SafetensorsFile file = io::load_safetensors(path);

  // The values the script writes, computed the same way here.
  std::vector<float> f32(6);
  for (int i = 0; i < 6; ++i) f32[i] = static_cast<float>(i) * 0.5f - 1.0f;
  std::vector<double> f64(5);
  for (int i = 0; i < 5; ++i) f64[i] = 1.0 / (i + 1);
  std::vector<uint8_t> u8(256);
  for (int i = 0; i < 256; ++i) u8[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(file.get<float>("weight", {2, 3}).to_vector(), f32);
  EXPECT_EQ(file.get<double>("layer.scale", {5}).to_vector(), f64);
  EXPECT_EQ(file.get<int64_t>("ids", {3}).to_vector(),
            (std::vector<int64_t>{-(int64_t{1} << 40), 0, (int64_t{1} << 62) + 1}));
  EXPECT_EQ(file.get<uint8_t>("bytes", {16, 16}).to_vector(), u8);
  EXPECT_EQ(file.get<float>("scalar", {}).item(), 3.25f);
  EXPECT_EQ(file.get<double>("empty", {0, 3}).numel(), 0);
  EXPECT_EQ(file.metadata(), (io::Metadata{{"source", "numpy"}, {"note", "ünïcode ✓"}}));
}

}  // namespace
}  // namespace attend
