// attend's BPE tokenizer on SmolLM2-135M-Instruct's GGUF file against the ids of the model's own
// tokenizer, rebuilt from the file with Hugging Face tokenizers 0.23.3 (its pre-tokenizer "smollm"
// splits off every digit; tests/golden/smollm2_tokenizer_ids.jsonl, written by
// bench/peers/bpe_golden.py), with the vocabulary read from the file by load_bpe_vocabulary. About
// an eighth of the cases are texts where transformers' GGUF tokenizer, which ignores "smollm",
// gives other ids.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "attend/bpe/gguf_vocabulary.h"
#include "attend/gguf/gguf_file.h"
#include "bpe/bpe_golden.h"

namespace attend::bpe {
namespace {

TEST(BpeGolden, SmolLM2FromGgufSameIdsAsItsOwnTokenizer) {
  const std::filesystem::path path = ATTEND_SMOLLM2_PATH;
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is missing (scripts/setup unpacks it)";
  const gguf::File file = gguf::File::open(path.string());
  ASSERT_EQ(file.string("tokenizer.ggml.model"), "gpt2");
  testing::expect_golden_ids(BpeTokenizer(load_bpe_vocabulary(file)));
}

}  // namespace
}  // namespace attend::bpe
