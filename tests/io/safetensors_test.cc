// Safetensors checkpoints: round trips of every dtype, what saving refuses, module save/load, and
// interoperability with the `safetensors` Python package (atomicity: atomic_file_test.cc;
// corrupt files: safetensors_corrupt_test.cc).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "attend/core/random.h"
#include "attend/io/atomic_file.h"
#include "attend/io/safetensors.h"
#include "attend/nn/linear.h"
#include "harness/expect_error.h"
#include "io/io_fixtures.h"

namespace attend {
namespace {

using io::AnyTensor;
using io::NamedTensors;
using io_fixtures::read_bytes;
using io_fixtures::TempDir;
using io_fixtures::write_bytes;

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

NamedTensors every_kind_of_tensor() {
  Generator generator(7);
  const float inf = std::numeric_limits<float>::infinity();
  return {
      {"f32", Tensor<float>::randn({2, 3, 4}, generator)},
      {"u8", MaskTensor::from_vector({2, 3}, {0, 1, 2, 127, 128, 255})},
      {"f64", Tensor<double>::randn({5}, generator)},
      {"i64", IndexTensor::from_vector(
                  {4}, {std::numeric_limits<int64_t>::min(), -1, 0, std::numeric_limits<int64_t>::max()})},
      {"special",
       Tensor<float>::from_vector({5}, {std::nanf(""), inf, -inf, -0.0f, std::numeric_limits<float>::denorm_min()})},
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
  // The only metadata is the checksum (CRC-32 of nothing: 0).
  const std::string header = R"({"__metadata__":{"attend.checksum":"crc32:00000000"}})";
  EXPECT_EQ(read_bytes(dir.file("none.safetensors")).substr(8, header.size()), header);
  const io::SafetensorsFile file = io::load_safetensors(dir.file("none.safetensors"));
  EXPECT_TRUE(file.tensors().empty());
  EXPECT_TRUE(file.metadata().empty());
}

// attend's files carry a checksum of their tensors and metadata: a flipped bit in a value, a
// zeroed block or an edited size in the metadata is refused as damage instead of loading as
// nonsense; a file written elsewhere (no checksum) loads as before.
TEST(SafetensorsChecksum, DamagedFilesAreRefused) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  const Tensor<float> weight = Tensor<float>::from_vector({2, 3}, {1.5f, -2, 3, 0.25f, 8, -0.5f});
  io::save_safetensors(path, {{"weight", weight}}, {{"layers", "3"}});
  const std::string good = read_bytes(path);
  EXPECT_EQ(io::load_safetensors(path).metadata(), (io::Metadata{{"layers", "3"}}));
  const auto refused = [&](const std::string& bytes, const std::string& what) {
    SCOPED_TRACE(what);
    write_bytes(path, bytes);
    expect_error<io::FormatError>([&] { io::load_safetensors(path); }, {"model.safetensors", "the file is damaged"});
  };
  std::string flipped = good;
  flipped[flipped.size() - 2] ^= 0x40;  // an exponent bit of the last element
  refused(flipped, "a flipped exponent bit");
  std::string zeroed = good;
  std::fill(zeroed.end() - 12, zeroed.end(), '\0');
  refused(zeroed, "a zeroed block");
  std::string edited = good;
  edited[edited.find("\"3\"") + 1] = '4';
  refused(edited, "layers 3 -> 4 in the metadata");
  // Without the checksum entry (a file from elsewhere), the same bytes load.
  std::string foreign = good;
  const size_t key = foreign.find("\"attend.checksum\"");
  foreign.replace(key, 17, "\"attend.checksux\"");  // the same length: the header's stays right
  write_bytes(path, foreign);
  EXPECT_EQ(io::load_safetensors(path).get<float>("weight").to_vector(), weight.to_vector());
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

// Headers used to be parsed in O(n^2) (80,000 keys took about 20 s); this checks that many keys
// still come back complete and in header order, not how fast (timed tests fail on busy machines).
TEST(SafetensorsRoundTrip, ManyTensorsAndMetadataKeysKeepTheirOrder) {
  TempDir dir;
  const std::string path = dir.file("many.safetensors");
  constexpr int kCount = 20'000;
  NamedTensors tensors;
  io::Metadata metadata;
  for (int i = 0; i < kCount; ++i) {
    // Descending names, so that header order differs from sorted order.
    tensors.emplace_back(fmt::format("t{:05d}", kCount - i), Tensor<uint8_t>::full({1}, static_cast<uint8_t>(i)));
    metadata.emplace(fmt::format("key{}", i), std::to_string(i));
  }
  io::save_safetensors(path, tensors, metadata);
  const io::SafetensorsFile file = io::load_safetensors(path);
  ASSERT_EQ(file.tensors().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); i += 997)
    expect_identical(tensors[i].second, file.tensors()[i].second, tensors[i].first);
  std::vector<std::string> expected_names;
  for (const auto& [name, tensor] : tensors) expected_names.push_back(name);
  EXPECT_EQ(file.names(), expected_names);
  EXPECT_EQ(file.metadata(), metadata);
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
  EXPECT_NE(unexpected.find("the file has tensors that are not parameters: 'bias'"), std::string::npos) << unexpected;

  EXPECT_THROW(io::save_module(dir.file("clash.safetensors"), no_bias, {{"weight", IndexTensor::scalar(1)}}),
               ValueError);
}

TEST(SafetensorsModule, RejectsNaNAndInfinityAndChangesNothing) {
  TempDir dir;
  const std::string path = dir.file("diverged.safetensors");
  Generator generator(4);
  nn::Linear<float> saved(4, 3, true, generator);
  saved.weight().data()[1 * 4 + 2] = std::numeric_limits<float>::quiet_NaN();  // weight[1, 2]
  saved.weight().data()[2 * 4 + 3] = std::numeric_limits<float>::infinity();   // not the first
  saved.bias().data()[2] = -std::numeric_limits<float>::infinity();
  io::save_module(path, saved);

  nn::Linear<float> loaded(4, 3, true, generator);
  const auto before = loaded.weight().to_vector();
  try {
    io::load_module(path, loaded);
    FAIL() << "loaded non-finite weights";
  } catch (const ValueError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("parameter 'weight' holds nan at index (1, 2)"), std::string::npos) << message;
    EXPECT_NE(message.find("parameter 'bias' holds -inf at index (2)"), std::string::npos) << message;
    EXPECT_NE(message.find(path), std::string::npos) << message;
  }
  EXPECT_EQ(loaded.weight().to_vector(), before) << "a failed load changes nothing";
}

TEST(SafetensorsModule, FirstNonFiniteFindsTheFirstInRowMajorOrder) {
  EXPECT_EQ(io::first_non_finite(Tensor<double>::zeros({2, 3})), std::nullopt);
  EXPECT_EQ(io::first_non_finite(Tensor<float>::zeros({0})), std::nullopt);
  EXPECT_EQ(io::first_non_finite(IndexTensor::full({2}, 7)), std::nullopt) << "integers are always finite";
  EXPECT_EQ(io::first_non_finite(Tensor<double>::scalar(std::nan(""))), Shape{});

  const double inf = std::numeric_limits<double>::infinity();
  // (2, 3) holding [[0, 0, inf], [nan, 0, 0]]; its transpose (3, 2) is [[0, nan], [0, 0], [inf, 0]].
  const Tensor<double> matrix = Tensor<double>::from_vector({2, 3}, {0, 0, inf, std::nan(""), 0, 0});
  EXPECT_EQ(io::first_non_finite(matrix), (Shape{0, 2}));
  EXPECT_EQ(io::first_non_finite(matrix.transpose(0, 1)), (Shape{0, 1})) << "the view's order, not storage order";
}

// ---- interoperability with the Python package (tests/io/safetensors_interop.py) ----

// "<python> <source>/tests/io/safetensors_interop.py" with the project's Python (ATTEND_TEST_PYTHON,
// tests/CMakeLists.txt), or empty when ATTEND_SOURCE_DIR is unset.
std::string interop_command() {
  const char* source = std::getenv("ATTEND_SOURCE_DIR");
  if (source == nullptr) return "";
  return fmt::format("'{}' '{}/tests/io/safetensors_interop.py'", ATTEND_TEST_PYTHON, source);
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
          const char* dtype = std::is_same_v<T, float>     ? "float32"
                              : std::is_same_v<T, double>  ? "float64"
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
  EXPECT_EQ(
      exit_code_of(fmt::format("{} check '{}' '{}'", script, dir.file("ours.safetensors"), dir.file("expected.json"))),
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
