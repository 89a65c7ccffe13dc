// attend's BPE tokenizer against the ids of Hugging Face transformers 5.25 / tokenizers 0.23.3 on
// SmolLM2-135M-Instruct (tests/golden/smollm2_tokenizer_ids.jsonl: tweets, Markdown, C++,
// sentences in many scripts, digits, white space, chat markup; bench/peers/bpe_parity.py compares
// far more lines). The vocabulary comes from a JSON dump of the GGUF file's tokenizer
// (bench/peers/bpe_golden.py --vocabulary FILE) named by ATTEND_SMOLLM2_VOCABULARY_JSON;
// bpe_golden_gguf_test.cc reads it from the GGUF file itself.
#include <gtest/gtest.h>

#include <cstdlib>

#include "bpe/bpe_fixtures.h"
#include "bpe/bpe_golden.h"

namespace attend::bpe {
namespace {

TEST(BpeGolden, SmolLM2FromJsonSameIdsAsTransformers) {
  const char* path = std::getenv("ATTEND_SMOLLM2_VOCABULARY_JSON");
  if (path == nullptr || *path == '\0') {
    GTEST_SKIP() << "set ATTEND_SMOLLM2_VOCABULARY_JSON to the file of bench/peers/bpe_golden.py --vocabulary";
  }
  testing::expect_golden_ids(BpeTokenizer(testing::load_vocabulary_json(path)));
}

// The comparison would see a wrong id or a wrong decoding.
TEST(BpeGolden, AnAlteredIdIsCaught) {
  const BpeTokenizer tokenizer(testing::byte_vocabulary({{"h", "i"}}));
  testing::GoldenCase golden = testing::parse_golden_line(R"({"text": "hi!", "ids": [256, 33]})");
  EXPECT_EQ(testing::golden_difference(tokenizer, golden), "");
  golden.ids[1] = 34;
  EXPECT_EQ(testing::golden_difference(tokenizer, golden),
            "\"hi!\": ids differ from position 1: attend [256 33], transformers [256 34]");
  golden.ids.pop_back();
  EXPECT_NE(testing::golden_difference(tokenizer, golden).find("differ from position 1"), std::string::npos);
}

}  // namespace
}  // namespace attend::bpe
