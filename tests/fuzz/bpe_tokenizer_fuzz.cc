// Fuzz target: the byte-level BPE tokenizer (bpe/bpe_tokenizer.h: added tokens, the SmolLM2
// pre-tokenizer, merges) and its streaming decoder on arbitrary bytes, with SmolLM2's vocabulary
// cut to its first 2,048 tokens and the merges among them (tests/fuzz/data/smollm2_tokenizer.gguf,
// read through bpe/gguf_vocabulary.h). The first byte picks the options: bit 0 parses special
// tokens in the text, bit 1 skips them when decoding.
// Invariants: every id is in the vocabulary; decode() gives well-formed UTF-8; the streaming
// decoder, fed the ids one at a time, gives decode()'s very text; and text of printable ASCII
// and newlines, encoded without special tokens, decodes back to itself.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attend/bpe/gguf_vocabulary.h"
#include "attend/bpe/streaming_decoder.h"
#include "attend/core/utf8.h"
#include "fuzz/fuzz_input.h"

#ifndef ATTEND_FUZZ_DATA_DIR
#error "ATTEND_FUZZ_DATA_DIR must name tests/fuzz/data"
#endif

namespace {

using namespace attend;

const bpe::BpeTokenizer& tokenizer() {
  static const bpe::BpeTokenizer instance(
      bpe::load_bpe_vocabulary(gguf::File::open(std::string(ATTEND_FUZZ_DATA_DIR) + "/smollm2_tokenizer.gguf")));
  return instance;
}

bool printable_ascii(std::string_view text) {
  for (const char c : text) {
    if (c != '\n' && (c < 0x20 || c > 0x7e)) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool parse_special = (data[0] & 1) != 0, skip_special = (data[0] & 2) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const bpe::BpeTokenizer& bpe = tokenizer();
  return fuzz::run_reader([&] {
    const std::vector<int32_t> ids = bpe.encode(text, parse_special);
    for (const int32_t id : ids) ATTEND_FUZZ_REQUIRE(id >= 0 && id < bpe.vocabulary_size());
    const std::string decoded = bpe.decode(ids, skip_special);
    ATTEND_FUZZ_REQUIRE(is_utf8(decoded));
    bpe::StreamingDecoder stream(bpe, skip_special);
    std::string streamed;
    for (const int32_t id : ids) streamed += stream.push(id);
    streamed += stream.flush();
    ATTEND_FUZZ_REQUIRE(streamed == decoded);
    if (!parse_special && printable_ascii(text)) ATTEND_FUZZ_REQUIRE(decoded == text);
  });
}
