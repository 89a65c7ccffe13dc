// Fuzz target: a GGUF file (gguf/gguf_file.h) from arbitrary bytes. Invariants of a file that
// opens: every tensor lies inside the file, after the header, aligned, with the byte count its
// type and shape give, and no two overlap; every metadata value answers its typed accessor or
// throws FormatError; every tensor attend can convert dequantizes to its element count.
#include <algorithm>
#include <cstdint>
#include <string>

#include "attend/gguf/gguf_file.h"
#include "fuzz/fuzz_input.h"

namespace {

using attend::gguf::File;
using attend::gguf::TensorInfo;

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
