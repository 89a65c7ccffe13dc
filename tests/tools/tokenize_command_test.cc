#include "tokenize_command.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "attend/core/error.h"
#include "harness/expect_error.h"
#include "text/text_fixtures.h"

namespace attend::tools {
namespace {

// ids: 0 [PAD], 1 [UNK], 2 [CLS], 3 [SEP], 4 [MASK], 5 hello, 6 world, 7 a, 8 b, 9 c
text::BertTokenizer small_tokenizer() {
  return text::BertTokenizer(text::Vocabulary(text::testing::small_vocabulary({"hello", "world", "a", "b", "c"})), {});
}

TEST(TokenizeCommand, OneJsonLinePerInputLine) {
  std::istringstream in("Hello world\n\nbc\r\n");
  std::ostringstream out, warnings;
  EXPECT_EQ(tokenize_lines(small_tokenizer(), {}, false, in, out, warnings), 3);
  std::istringstream lines(out.str());
  std::string line;
  std::vector<std::vector<int64_t>> ids;
  while (std::getline(lines, line)) ids.push_back(nlohmann::json::parse(line).at("ids").get<std::vector<int64_t>>());
  EXPECT_EQ(ids, (std::vector<std::vector<int64_t>>{{2, 5, 6, 3}, {2, 3}, {2, 1, 3}}));
  EXPECT_EQ(warnings.str(), "");
}

// A line that is not text is refused with its number: before, a byte that is not UTF-8 was
// dropped ("b\xffc" tokenized as the one word "bc") and a NUL byte joined the halves around it.
TEST(TokenizeCommand, LinesThatAreNotTextAreRefused) {
  for (const auto& [input, message] : std::vector<std::pair<std::string, std::string>>{
           {"fine\nb\xff"
            "c\n",
            "standard input line 2 is not valid UTF-8 (byte 2 is 0xff)"},
           {std::string("ok\nhel\0lo\n", 10), "standard input line 2 has a NUL byte: it is not text"}}) {
    std::istringstream in(input);
    std::ostringstream out, warnings;
    expect_error<ValueError>([&] { tokenize_lines(small_tokenizer(), {}, false, in, out, warnings); }, {message});
  }
}

TEST(TokenizeCommand, PairsTakeTwoLinesAndTruncationWarns) {
  std::istringstream in("a b c\nhello\n");
  std::ostringstream out, warnings;
  tokenize_lines(small_tokenizer(), {.max_length = 5, .truncate = true}, true, in, out, warnings);
  const auto encoding = nlohmann::json::parse(out.str());
  EXPECT_EQ(encoding["ids"], (std::vector<int64_t>{2, 7, 3, 5, 3}));
  EXPECT_EQ(encoding["token_type_ids"], (std::vector<int64_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(encoding["truncated"], true);
  EXPECT_EQ(warnings.str(), "attend: warning: lines 1-2 was cut from 7 to 5 tokens (--truncate, longest first)\n");
}

TEST(TokenizeCommand, ErrorsNameTheLine) {
  std::istringstream too_long("a\na b c d\n");
  std::ostringstream out, warnings;
  expect_error<ValueError>(
      [&] { tokenize_lines(small_tokenizer(), {.max_length = 5}, false, too_long, out, warnings); },
      {"line 2: the input is 6 tokens long", "more than max_length 5"});
  std::istringstream odd("a\nb\nc\n");
  expect_error<ValueError>([&] { tokenize_lines(small_tokenizer(), {}, true, odd, out, warnings); },
                           {"line 3 is the last and has no partner"});
}

TEST(TokenizeCommand, EncodingJsonHasEveryField) {
  const auto encoding = small_tokenizer().encode("hello");
  EXPECT_EQ(encoding_json(encoding).dump(),
            R"({"attention_mask":[1,1,1],"ids":[2,5,3],"token_type_ids":[0,0,0],"tokens":["[CLS]","hello","[SEP]"],)"
            R"("truncated":false})");
  EXPECT_EQ(truncation_warning(encoding, "text 1"), "");
}

}  // namespace
}  // namespace attend::tools
