#include "attend/text/bert_tokenizer.h"

#include <gtest/gtest.h>

#include "attend/core/error.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"
#include "text/text_fixtures.h"

namespace attend::text {
namespace {

using attend::testing::TempDir;
using testing::small_vocabulary;
using testing::write_file;

// ids: 0 [PAD], 1 [UNK], 2 [CLS], 3 [SEP], 4 [MASK], then 5...
BertTokenizer small_tokenizer(BertTokenizerConfig config = {}) {
  return BertTokenizer(
      Vocabulary(small_vocabulary({"hello", "world", "!", "un", "##aff", "##able", "cafe", "a", "b", "c", "d", "e"})),
      std::move(config));
}

using Ids = std::vector<int64_t>;

TEST(BertTokenizer, EncodeWrapsThePiecesInClsAndSep) {
  const BertTokenizer tokenizer = small_tokenizer();
  EXPECT_EQ(tokenizer.tokenize("Hello, WORLD! unaffable"),
            (std::vector<std::string>{"hello", "[UNK]", "world", "!", "un", "##aff", "##able"}));
  const Encoding encoding = tokenizer.encode("Hello world!");
  EXPECT_EQ(encoding.ids, (Ids{2, 5, 6, 7, 3}));
  EXPECT_EQ(encoding.token_type_ids, (Ids{0, 0, 0, 0, 0}));
  EXPECT_EQ(encoding.attention_mask, (Ids{1, 1, 1, 1, 1}));
  EXPECT_EQ(encoding.tokens, (std::vector<std::string>{"[CLS]", "hello", "world", "!", "[SEP]"}));
  EXPECT_FALSE(encoding.truncated);
  EXPECT_EQ(tokenizer.encode("").ids, (Ids{2, 3}));
}

TEST(BertTokenizer, PairsTakeTypeOneForTheSecondText) {
  const Encoding encoding = small_tokenizer().encode_pair("hello", "world !");
  EXPECT_EQ(encoding.ids, (Ids{2, 5, 3, 6, 7, 3}));
  EXPECT_EQ(encoding.token_type_ids, (Ids{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(encoding.attention_mask, (Ids(6, 1)));
}

TEST(BertTokenizer, SpecialTokensWrittenInTheTextKeepTheirIds) {
  const BertTokenizer tokenizer = small_tokenizer();
  EXPECT_EQ(tokenizer.encode("hello[MASK]world [SEP]").ids, (Ids{2, 5, 4, 6, 3, 3}));
  EXPECT_EQ(tokenizer.encode("[mask]").ids, (Ids{2, 1, 1, 1, 3}));  // case-sensitive: "[", "mask", "]"
  EXPECT_EQ(tokenizer.encode("a[MASK").ids, (Ids{2, 12, 1, 1, 3}));
}

TEST(BertTokenizer, ConfigChoosesCaseAndAccents) {
  EXPECT_EQ(small_tokenizer().tokenize("Caf\xc3\xa9"), (std::vector<std::string>{"cafe"}));
  BertTokenizerConfig keep_accents;
  keep_accents.strip_accents = false;
  EXPECT_EQ(small_tokenizer(keep_accents).tokenize("Caf\xc3\xa9"), (std::vector<std::string>{"[UNK]"}));
  BertTokenizerConfig cased;
  cased.do_lower_case = false;
  EXPECT_EQ(small_tokenizer(cased).tokenize("Hello hello"), (std::vector<std::string>{"[UNK]", "hello"}));
}

TEST(BertTokenizer, MaxLengthRefusesALongerInputUnlessAskedToTruncate) {
  const BertTokenizer tokenizer = small_tokenizer();
  EXPECT_EQ(tokenizer.encode("a b c", {.max_length = 5}).ids, (Ids{2, 12, 13, 14, 3}));  // fits exactly
  expect_error<ValueError>([&] { tokenizer.encode("a b c d", {.max_length = 5}); },
                           {"6 tokens long", "more than max_length 5", "--truncate"});
  const Encoding cut = tokenizer.encode("a b c d", {.max_length = 5, .truncate = true});
  EXPECT_EQ(cut.ids, (Ids{2, 12, 13, 14, 3}));
  EXPECT_TRUE(cut.truncated);
  EXPECT_EQ(cut.untruncated_length, 6);
  expect_error<ValueError>([&] { tokenizer.encode("a", {.max_length = 1, .truncate = true}); },
                           {"max_length 1 leaves no room for the 2 special tokens"});
  expect_error<ValueError>([&] { tokenizer.encode_pair("a", "b", {.max_length = 2, .truncate = true}); },
                           {"max_length 2 leaves no room for the 3 special tokens"});
  expect_error<ValueError>([&] { tokenizer.encode("a", {.max_length = std::nullopt, .truncate = true}); },
                           {"truncate needs a max_length"});
}

TEST(BertTokenizer, PairsAreTruncatedLongestFirst) {
  const BertTokenizer tokenizer = small_tokenizer();
  // 5 + 2 pieces into 8 - 3 = 5: the short one keeps its 2, the long one 3.
  const Encoding encoding = tokenizer.encode_pair("a b c d e", "hello world", {.max_length = 8, .truncate = true});
  EXPECT_EQ(encoding.ids, (Ids{2, 12, 13, 14, 3, 5, 6, 3}));
  EXPECT_EQ(encoding.token_type_ids, (Ids{0, 0, 0, 0, 0, 1, 1, 1}));
  EXPECT_TRUE(encoding.truncated);
  EXPECT_EQ(encoding.untruncated_length, 10);
  // Both too long: 2 and 3 of the 5 left.
  EXPECT_EQ(tokenizer.encode_pair("a b c", "c d e", {.max_length = 8, .truncate = true}).ids,
            (Ids{2, 12, 13, 3, 14, 15, 16, 3}));
}

TEST(BertTokenizer, RefusesAVocabularyWithoutItsSpecialTokens) {
  expect_error<ValueError>(
      [] {
        BertTokenizer(Vocabulary({"[UNK]", "[CLS]", "a"}, "vocab.txt"), {});
      },
      {"vocab.txt lacks the special token(s) '[SEP]', '[PAD]'"});
}

TEST(BertTokenizer, LoadsAModelDirectory) {
  TempDir dir;
  write_file(dir / "vocab.txt", testing::vocabulary_file(small_vocabulary({"hello", "<s>"})));
  write_file(dir / "tokenizer_config.json",
             R"({"do_lower_case": false, "strip_accents": null, "cls_token": {"content": "<s>", "lstrip": false},
                 "model_max_length": 512, "tokenizer_class": "BertTokenizer"})");
  const BertTokenizer tokenizer = BertTokenizer::from_directory(dir.path().string());
  EXPECT_FALSE(tokenizer.config().do_lower_case);
  EXPECT_FALSE(tokenizer.config().strip_accents.has_value());
  EXPECT_EQ(tokenizer.config().model_max_length, 512);
  EXPECT_EQ(tokenizer.encode("hello Hello").ids, (Ids{6, 5, 1, 3}));  // <s> is the classifier token
}

TEST(BertTokenizer, NamesTheFileItCannotLoad) {
  TempDir dir;
  expect_error<ValueError>([&] { BertTokenizer::from_directory((dir / "absent").string()); },
                           {"the model directory", "absent' does not exist"});
  expect_error<ValueError>([&] { BertTokenizer::from_directory(dir.path().string()); }, {"vocab.txt' does not exist"});
  write_file(dir / "vocab.txt", testing::vocabulary_file(small_vocabulary({})));
  expect_error<ValueError>([&] { BertTokenizer::from_directory(dir.path().string()); },
                           {"tokenizer_config.json' does not exist"});
  write_file(dir / "tokenizer_config.json", "{\"do_lower_case\": ");
  expect_error<ValueError>([&] { BertTokenizer::from_directory(dir.path().string()); },
                           {"tokenizer_config.json' is not valid JSON"});
  write_file(dir / "tokenizer_config.json", R"({"do_lower_case": "yes"})");
  expect_error<ValueError>([&] { BertTokenizer::from_directory(dir.path().string()); },
                           {"'do_lower_case' must be true or false, not \"yes\""});
  write_file(dir / "tokenizer_config.json", R"({"unk_token": 3})");
  expect_error<ValueError>([&] { BertTokenizer::from_directory(dir.path().string()); },
                           {"'unk_token' must be a token"});
  write_file(dir / "tokenizer_config.json", R"({"unk_token": "<unk>"})");
  expect_error<ValueError>([&] { BertTokenizer::from_directory(dir.path().string()); },
                           {"lacks the special token(s) '<unk>'"});
}

}  // namespace
}  // namespace attend::text
