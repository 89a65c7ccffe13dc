// Fuzz target: a decoder model from a GGUF file, the way `attend generate` takes one: the llama
// configuration (decoder/llama_config.h), every weight checked and kept as blocks or widened
// (LlamaModel::load; float32 for inputs of odd length), the byte-level BPE vocabulary of its
// tokenizer metadata (bpe/gguf_vocabulary.h), then a prefill of two tokens and one decode step.
// Invariants of a model that loads: the configuration's sizes divide (heads into the width,
// key/value heads into heads), the vocabulary is the token list's, and the forward calls give
// logits of shape (rows, V) and a cache that holds every token run.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attend/bpe/gguf_vocabulary.h"
#include "attend/decoder/llama_model.h"
#include "fuzz/fuzz_input.h"

namespace {

using namespace attend;

void run_model(const decoder::LlamaModel& model) {
  const decoder::LlamaConfig& c = model.config();
  ATTEND_FUZZ_REQUIRE(c.width % c.heads == 0 && c.heads % c.kv_heads == 0 && c.head_dim % 2 == 0);
  ATTEND_FUZZ_REQUIRE(c.vocabulary == static_cast<int64_t>(model.file().strings("tokenizer.ggml.tokens").size()));
  if (c.context_length < 3) return;
  decoder::KvCache cache = model.new_cache(2);
  const std::vector<int32_t> prompt{0, static_cast<int32_t>(c.vocabulary - 1)};
  const Tensor<float> all = model.forward(prompt, cache, true);  // (2, V)
  ATTEND_FUZZ_REQUIRE(all.rank() == 2 && all.shape()[0] == 2 && all.shape()[1] == c.vocabulary);
  const int32_t next = static_cast<int32_t>(c.vocabulary / 2);
  const Tensor<float> step = model.forward(std::vector<int32_t>{next}, cache);  // (1, V)
  ATTEND_FUZZ_REQUIRE(step.rank() == 2 && step.shape()[0] == 1 && step.shape()[1] == c.vocabulary);
  ATTEND_FUZZ_REQUIRE(cache.length() == 3);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_input_file(fuzz::bytes_of(data, size), "model.gguf");
  const auto precision = size % 2 == 0 ? decoder::WeightPrecision::stored : decoder::WeightPrecision::float32;
  fuzz::run_reader([&] { run_model(decoder::LlamaModel::load(path, precision)); });
  return fuzz::run_reader([&] {
    const bpe::BpeTokenizer tokenizer(bpe::load_bpe_vocabulary(gguf::File::open(path)));
    ATTEND_FUZZ_REQUIRE(tokenizer.vocabulary_size() > 0);
  });
}
