#include "cli_checks.h"

#include <string>

#include <gtest/gtest.h>

namespace attend::tools {
namespace {

TEST(EscapeForTerminal, ControlBytesAndBrokenUtf8BecomeHexWellFormedTextStays) {
  EXPECT_EQ(escape_for_terminal("h\x1b[31mello"), "h\\x1b[31mello");
  EXPECT_EQ(escape_for_terminal("h\xc3"), "h\\xc3");                           // 'é' cut after its first byte
  EXPECT_EQ(escape_for_terminal("h\xc3\xa9llo"), "h\xc3\xa9llo");              // 'é' whole
  EXPECT_EQ(escape_for_terminal("\xf0\x9f\x98\x80!"), "\xf0\x9f\x98\x80!");    // U+1F600, four bytes
  EXPECT_EQ(escape_for_terminal("\xc0\x80"), "\\xc0\\x80");                    // overlong NUL
  EXPECT_EQ(escape_for_terminal("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a UTF-16 surrogate
  EXPECT_EQ(escape_for_terminal("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(escape_for_terminal("a\x7f"
                                "b\n\tc"),
            "a\\x7fb\n\tc");
  EXPECT_EQ(escape_for_terminal(std::string("a\0b", 3)), "a\\x00b");
}

// Parses "--n VALUE" into an int64 option with `validator`; returns CLI11's message, or "".
std::string parse_error(const CLI::Validator& validator, const std::string& value) {
  CLI::App app;
  int64_t n = 0;
  app.add_option("--n", n)->check(validator);
  try {
    app.parse("--n " + value, false);
  } catch (const CLI::ParseError& error) {
    return error.what();
  }
  return "";
}

TEST(IntegerIn, RefusesOverflowSignsFractionsAndValuesOutsideTheRange) {
  const CLI::Validator steps = integer_in(1, 100);
  EXPECT_EQ(parse_error(steps, "1"), "");
  EXPECT_EQ(parse_error(steps, "100"), "");
  EXPECT_NE(parse_error(steps, "0").find("0 is outside [1, 100]"), std::string::npos);
  EXPECT_NE(parse_error(steps, "101").find("101 is outside [1, 100]"), std::string::npos);
  EXPECT_NE(parse_error(steps, "99999999999999999999").find("does not fit in 64 bits"), std::string::npos);
  EXPECT_NE(parse_error(steps, "1.5").find("is not a whole number"), std::string::npos);
  EXPECT_NE(parse_error(steps, "+5").find("is not a whole number"), std::string::npos);
  EXPECT_NE(parse_error(steps, "5x").find("is not a whole number"), std::string::npos);
  EXPECT_NE(parse_error(unsigned_integer(), "-1").find("-1 is not a whole number"), std::string::npos);
  EXPECT_EQ(parse_error(unsigned_integer(), "7"), "");
}

}  // namespace
}  // namespace attend::tools
