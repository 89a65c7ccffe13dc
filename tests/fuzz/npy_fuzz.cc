// Fuzz target: a .npy file (io/npy.h) from arbitrary bytes. Invariant of an array that loads: the
// input is what npy_bytes writes for it, but for the header's padding: load_npy reads one
// spelling of each header, numpy's, with any amount of padding.
#include <cstdint>
#include <string>

#include "attend/io/npy.h"
#include "fuzz/fuzz_input.h"

namespace {

// The file without the spaces between the header's "}" and its final "\n", nor the header
// length that counts them: numpy reads any padding (older numpy aligned the data to 16 bytes,
// not 64), and so does load_npy.
std::string without_padding(std::string bytes) {
  const size_t brace = bytes.find('}');
  if (brace == std::string::npos || bytes.size() < 10) return bytes;
  const size_t newline = bytes.find('\n', brace);
  if (newline == std::string::npos) return bytes;
  return bytes.erase(brace + 1, newline - brace - 1).erase(8, 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attend;
  const std::string path = fuzz::write_input_file(fuzz::bytes_of(data, size), "array.npy");
  return fuzz::run_reader([&] {
    const Tensor<float> array = io::load_npy(path);
    ATTEND_FUZZ_REQUIRE(array.is_contiguous());
    ATTEND_FUZZ_REQUIRE(static_cast<double>(array.numel()) * 4 < static_cast<double>(size));
    ATTEND_FUZZ_REQUIRE(without_padding(io::npy_bytes(array)) == without_padding(fuzz::bytes_of(data, size)));
  });
}
