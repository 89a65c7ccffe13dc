// The progress line: plain lines every `plain_every` steps when not on a terminal, and an ETA
// from the steps left, or from the time limit when that comes sooner.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "attend/train/progress.h"

namespace attend::train {
namespace {

// Everything written to `file` so far.
std::string contents(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string text;
  for (int c = std::fgetc(file); c != EOF; c = std::fgetc(file)) text += static_cast<char>(c);
  return text;
}

TEST(ProgressBar, PlainLinesEveryFewStepsAndAtTheEnd) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  ProgressBar progress(5, file, 2, "img");
  for (int64_t step = 1; step <= 5; ++step) progress.update(step, 0.5, 10 * step);
  const std::string text = contents(file);
  std::fclose(file);
  EXPECT_EQ(text.find("step 1/5"), std::string::npos) << text;
  EXPECT_NE(text.find("step 2/5 loss 0.5000 "), std::string::npos) << text;
  EXPECT_NE(text.find("step 4/5"), std::string::npos) << text;
  EXPECT_NE(text.find("step 5/5"), std::string::npos) << text;
  EXPECT_NE(text.find(" img/s elapsed "), std::string::npos) << text;
}

TEST(ProgressBar, TheEtaIsTheTimeLeftWhenThatComesFirst) {
  // 10^12 steps left would take days at any speed; the limit says the run ends now.
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  ProgressBar limited(1000000000000, file, 1, "tok");
  limited.set_time_left(0);
  limited.update(1, 1.0, 1);
  const std::string text = contents(file);
  std::fclose(file);
  EXPECT_NE(text.find("ETA 00:00"), std::string::npos) << text;

  // Without the limit the same line has a long ETA (the test can fail).
  std::FILE* other = std::tmpfile();
  ASSERT_NE(other, nullptr);
  ProgressBar unlimited(1000000000000, other, 1, "tok");
  unlimited.update(1, 1.0, 1);
  const std::string unlimited_text = contents(other);
  std::fclose(other);
  EXPECT_EQ(unlimited_text.find("ETA 00:00"), std::string::npos) << unlimited_text;
}

}  // namespace
}  // namespace attend::train
