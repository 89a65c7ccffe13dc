#include <cmath>
#include <functional>
#include <limits>

#include <gtest/gtest.h>

#include "attend/core/error.h"
#include "attend/sampling/sampler.h"
#include "attend/sampling/sampling_options.h"
#include "harness/expect_error.h"

namespace attend::sampling {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

void expect_rejected(const std::function<void(SamplingOptions&)>& change, const std::vector<std::string>& fragments) {
  SamplingOptions options;
  change(options);
  expect_error<ValueError>([&] { options.validate(); }, fragments);
  expect_error<ValueError>([&] { Sampler sampler(options); }, fragments);
}

TEST(SamplingOptions, DefaultsAndEdgesAreValid) {
  SamplingOptions options;
  EXPECT_NO_THROW(options.validate());
  options.temperature = 0;
  options.top_p = 1;
  options.min_p = 1;
  options.frequency_penalty = -2;
  options.presence_penalty = -2;
  options.penalty_last_n = 0;
  EXPECT_NO_THROW(options.validate());
}

TEST(SamplingOptions, RejectsTemperature) {
  expect_rejected([](SamplingOptions& o) { o.temperature = kNaN; }, {"temperature", "nan"});
  expect_rejected([](SamplingOptions& o) { o.temperature = -0.5f; }, {"temperature", "-0.5"});
  expect_rejected([](SamplingOptions& o) { o.temperature = kInf; }, {"temperature", "inf"});
}

TEST(SamplingOptions, RejectsTruncation) {
  expect_rejected([](SamplingOptions& o) { o.top_k = -1; }, {"top_k", "-1"});
  expect_rejected([](SamplingOptions& o) { o.top_p = 0; }, {"top_p must be in (0, 1]", "got 0"});
  expect_rejected([](SamplingOptions& o) { o.top_p = 1.5f; }, {"top_p", "1.5"});
  expect_rejected([](SamplingOptions& o) { o.top_p = kNaN; }, {"top_p", "nan"});
  expect_rejected([](SamplingOptions& o) { o.min_p = -0.1f; }, {"min_p must be in [0, 1]", "-0.1"});
  expect_rejected([](SamplingOptions& o) { o.min_p = 1.25f; }, {"min_p", "1.25"});
  expect_rejected([](SamplingOptions& o) { o.min_p = kNaN; }, {"min_p", "nan"});
}

TEST(SamplingOptions, RejectsPenalties) {
  expect_rejected([](SamplingOptions& o) { o.repeat_penalty = 0; }, {"repeat_penalty", "> 0", "got 0"});
  expect_rejected([](SamplingOptions& o) { o.repeat_penalty = -1.1f; }, {"repeat_penalty", "-1.1"});
  expect_rejected([](SamplingOptions& o) { o.repeat_penalty = kNaN; }, {"repeat_penalty", "nan"});
  expect_rejected([](SamplingOptions& o) { o.frequency_penalty = kNaN; }, {"frequency_penalty", "nan"});
  expect_rejected([](SamplingOptions& o) { o.presence_penalty = kNaN; }, {"presence_penalty", "nan"});
  expect_rejected([](SamplingOptions& o) { o.presence_penalty = -kInf; }, {"presence_penalty", "-inf"});
  expect_rejected([](SamplingOptions& o) { o.penalty_last_n = -1; }, {"penalty_last_n", "-1"});
}

}  // namespace
}  // namespace attend::sampling
