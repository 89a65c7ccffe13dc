// Fuzz target: a GGUF file (gguf/gguf_file.h) from arbitrary bytes. Invariants of a file that
// opens: every tensor lies inside the file, after the header, aligned, with the byte count its
// type and shape give, and no two overlap; every metadata value answers its typed accessor or
// throws FormatError; every tensor attend can convert dequantizes to its element count; a 2-D
// Q8_0 / Q4_0 / Q4_1 tensor kept as blocks (quant/quantized_matrix.h) is refused for a NaN or
// infinite scale, or widens to the reader's very bits and projects a row to one value per row.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "attend/core/error.h"
#include "attend/gguf/gguf_file.h"
#include "attend/quant/quantized_matrix.h"
#include "fuzz/fuzz_input.h"

namespace {

using attend::gguf::File;
using attend::gguf::TensorInfo;

std::optional<attend::quant::QuantFormat> kept_format(attend::gguf::TensorType type) {
  using attend::gguf::TensorType;
  if (type == TensorType::kQ8_0) return attend::quant::QuantFormat::q8_0;
  if (type == TensorType::kQ4_0) return attend::quant::QuantFormat::q4_0;
  if (type == TensorType::kQ4_1) return attend::quant::QuantFormat::q4_1;
  return std::nullopt;
}

void check_quantized(const File& file, const TensorInfo& info) {
  const auto format = kept_format(info.type);
  if (!format || info.ne.size() != 2 || info.ne[1] == 0) return;
  std::optional<attend::quant::QuantizedMatrix> matrix;
  try {
    matrix.emplace(
        attend::quant::QuantizedMatrix::from_ggml_blocks(*format, info.ne[1], info.ne[0], file.bytes(info), info.name));
  } catch (const attend::ValueError&) {  // a NaN or infinite scale: refused, by design
    return;
  }
  ATTEND_FUZZ_REQUIRE(matrix->dequantize().to_vector() == file.dequantize(info).to_vector());
  const attend::Tensor<float> ones = attend::Tensor<float>::ones({1, info.ne[0]});
  ATTEND_FUZZ_REQUIRE(matrix->project(ones).numel() == info.ne[1]);
}

void check_tensors(const File& file, size_t size) {
  std::vector<const TensorInfo*> by_offset;
  for (const TensorInfo& info : file.tensors()) {
    const auto block = attend::gguf::block_layout(info.type);
    ATTEND_FUZZ_REQUIRE(info.offset % file.alignment() == 0);
    ATTEND_FUZZ_REQUIRE(info.offset <= size && info.bytes <= size - info.offset);
    ATTEND_FUZZ_REQUIRE(info.ne[0] % block.elements == 0);
    ATTEND_FUZZ_REQUIRE(info.bytes ==
                        static_cast<uint64_t>(info.elements() / block.elements) * static_cast<uint64_t>(block.bytes));
    ATTEND_FUZZ_REQUIRE(file.bytes(info).size() == info.bytes);
    by_offset.push_back(&info);
    if (attend::gguf::can_dequantize(info.type) && info.elements() <= (1 << 20)) {
      ATTEND_FUZZ_REQUIRE(file.dequantize(info).numel() == info.elements());
      check_quantized(file, info);
    }
  }
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    ATTEND_FUZZ_REQUIRE(by_offset[i - 1]->offset + by_offset[i - 1]->bytes <= by_offset[i]->offset);
  }
}

// Each accessor either answers or throws FormatError (run_reader turns anything else into a finding).
void touch_metadata(const File& file) {
  for (const auto& entry : file.metadata()) {
    const std::string& key = entry.first;  // clang 14 cannot capture a structured binding
    ATTEND_FUZZ_REQUIRE(file.find(key) == &entry.second);
    const auto quietly = [](auto call) {
      try {
        call();
      } catch (const attend::gguf::FormatError&) {
      }
    };
    quietly([&] { file.string(key); });
    quietly([&] { file.integer(key); });
    quietly([&] { file.real(key); });
    quietly([&] { file.boolean(key); });
    quietly([&] { file.strings(key); });
    quietly([&] { file.integers(key); });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attend;
  const std::string path = fuzz::write_input_file(fuzz::bytes_of(data, size), "model.gguf");
  return fuzz::run_reader([&] {
    const File file = File::open(path);
    ATTEND_FUZZ_REQUIRE(file.version() == 2 || file.version() == 3);
    touch_metadata(file);
    check_tensors(file, size);
  });
}
