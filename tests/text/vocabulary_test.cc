#include "attend/text/vocabulary.h"

#include <gtest/gtest.h>

#include "attend/core/error.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"
#include "text/text_fixtures.h"

namespace attend::text {
namespace {

using attend::testing::TempDir;
using testing::write_file;

TEST(Vocabulary, LineNumbersAreIds) {
  TempDir dir;
  write_file(dir / "vocab.txt", "[PAD]\r\nhello\n##lo\n\xc3\xa9");  // CRLF, and no final newline
  const Vocabulary vocabulary = load_vocabulary((dir / "vocab.txt").string());
  EXPECT_EQ(vocabulary.size(), 4);
  EXPECT_EQ(vocabulary.id_of("[PAD]"), 0);
  EXPECT_EQ(vocabulary.id_of("##lo"), 2);
  EXPECT_EQ(vocabulary.token(3), "\xc3\xa9");
  EXPECT_FALSE(vocabulary.find("absent").has_value());
  EXPECT_EQ(vocabulary.longest_token_bytes(), 5u);
}

TEST(Vocabulary, RefusesEmptyLinesDuplicatesAndBadBytes) {
  TempDir dir;
  const std::string path = (dir / "vocab.txt").string();
  write_file(path, "a\n\nb\n");
  expect_error<ValueError>([&] { load_vocabulary(path); }, {"vocab.txt", "line 2 is empty"});
  write_file(path, "a\nb\na\n");
  expect_error<ValueError>([&] { load_vocabulary(path); }, {"'a' appears twice, on lines 1 and 3"});
  write_file(path, "a\nb\xff\n");
  expect_error<ValueError>([&] { load_vocabulary(path); }, {"line 2 is not valid UTF-8"});
  write_file(path, "");
  expect_error<ValueError>([&] { load_vocabulary(path); }, {"has no tokens"});
  expect_error<ValueError>([&] { load_vocabulary((dir / "absent.txt").string()); }, {"cannot read", "absent.txt"});
}

TEST(Vocabulary, NamesWhatIsMissing) {
  const Vocabulary vocabulary({"a", "b"}, "my vocabulary");
  expect_error<ValueError>([&] { vocabulary.id_of("[UNK]"); }, {"my vocabulary lacks the token '[UNK]'"});
  expect_error<ValueError>([&] { vocabulary.token(2); }, {"token id 2 is outside [0, 2)"});
}

}  // namespace
}  // namespace attend::text
