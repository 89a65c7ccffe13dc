// Learning-rate schedules: known values at chosen steps, the peak where documented, misuse.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numbers>
#include <string>
#include <vector>

#include "attend/core/error.h"
#include "attend/train/lr_schedule.h"
#include "harness/expect_error.h"

namespace attend {
namespace {

using train::ConstantSchedule;
using train::time_scheduled_step;
using train::WarmupCosineSchedule;
using train::WarmupInverseSqrtSchedule;

TEST(LrSchedule, Constant) {
  const ConstantSchedule schedule(3e-4);
  for (int64_t step : {0, 1, 1000, 1'000'000'000}) EXPECT_EQ(schedule.learning_rate(step), 3e-4);
}

TEST(LrSchedule, WarmupInverseSqrtKnownValues) {
  const WarmupInverseSqrtSchedule schedule(1.0, 4);
  // s = step + 1: warm-up s / 4 for s <= 4, then sqrt(4 / s).
  EXPECT_EQ(schedule.learning_rate(0), 0.25);
  EXPECT_EQ(schedule.learning_rate(1), 0.5);
  EXPECT_EQ(schedule.learning_rate(2), 0.75);
  EXPECT_EQ(schedule.learning_rate(3), 1.0);  // the peak, at step = warmup - 1
  EXPECT_DOUBLE_EQ(schedule.learning_rate(4), std::sqrt(4.0 / 5.0));
  EXPECT_EQ(schedule.learning_rate(15), 0.5);   // s = 16
  EXPECT_EQ(schedule.learning_rate(399), 0.1);  // s = 400
  double highest = 0;
  for (int64_t step = 0; step < 100; ++step) highest = std::max(highest, schedule.learning_rate(step));
  EXPECT_EQ(highest, 1.0);
}

TEST(LrSchedule, WarmupInverseSqrtIsVaswaniEquation3) {
  // lrate = d_model^-0.5 * min(s^-0.5, s * warmup^-1.5), with s the 1-based step number.
  const int64_t d_model = 512, warmup = 4000;
  const auto schedule = WarmupInverseSqrtSchedule::for_model_dim(d_model, warmup);
  for (int64_t step : {0, 1, 999, 3998, 3999, 4000, 10'000, 99'999}) {
    const double s = static_cast<double>(step + 1);
    const double paper = std::pow(512.0, -0.5) * std::min(std::pow(s, -0.5), s * std::pow(4000.0, -1.5));
    EXPECT_NEAR(schedule.learning_rate(step), paper, 1e-14 * paper) << "step " << step;
  }
  EXPECT_DOUBLE_EQ(schedule.peak_learning_rate(), 1 / std::sqrt(512.0 * 4000.0));
}

TEST(LrSchedule, WarmupCosineKnownValues) {
  // peak 1, minimum 0.1, warmup 2, total 6: decay over s = 2..7 with p = (s - 2) / 5.
  const WarmupCosineSchedule schedule(1.0, 2, 6, 0.1);
  auto cosine = [](double p) { return 0.1 + 0.9 * (1 + std::cos(std::numbers::pi * p)) / 2; };
  EXPECT_EQ(schedule.learning_rate(0), 0.5);
  EXPECT_EQ(schedule.learning_rate(1), 1.0);  // the peak, at step = warmup - 1
  EXPECT_DOUBLE_EQ(schedule.learning_rate(2), cosine(0.2));
  EXPECT_DOUBLE_EQ(schedule.learning_rate(3), cosine(0.4));
  EXPECT_DOUBLE_EQ(schedule.learning_rate(5), cosine(0.8));  // the last update of the run
  EXPECT_GT(schedule.learning_rate(5), 0.1);
  EXPECT_EQ(schedule.learning_rate(6), 0.1);  // step = total_steps reaches the minimum
  EXPECT_EQ(schedule.learning_rate(1000), 0.1);
  // Halfway through the decay the rate is the mean of peak and minimum.
  const WarmupCosineSchedule even(2.0, 1, 4, 0.0);  // p = (s - 1) / 4
  EXPECT_NEAR(even.learning_rate(2), 1.0, 1e-15);   // s = 3, p = 1/2
  for (int64_t step = 1; step < 6; ++step) EXPECT_LT(schedule.learning_rate(step + 1), schedule.learning_rate(step));
}

// Warm-up 2, total 6, peak 2: updates s = 1..6 at 1, 2, then (7 - s) / 5 of the peak: 1.6, 1.2,
// 0.8, 0.4; 0 from step 6 (s = 7) on. (transformers' schedule runs the first update at rate 0;
// this one reaches 0 one past the last update instead, like WarmupCosineSchedule.)
TEST(LrSchedule, WarmupLinearKnownValues) {
  const train::WarmupLinearSchedule schedule(2.0, 2, 6);
  const std::vector<double> expected = {1.0, 2.0, 1.6, 1.2, 0.8, 0.4, 0.0, 0.0};
  for (int64_t step = 0; step < static_cast<int64_t>(expected.size()); ++step) {
    EXPECT_DOUBLE_EQ(schedule.learning_rate(step), expected[step]) << step;
  }
  EXPECT_THROW(train::WarmupLinearSchedule(1.0, 6, 6), ValueError);
  EXPECT_THROW(train::WarmupLinearSchedule(0.0, 1, 6), ValueError);
  EXPECT_THROW(schedule.learning_rate(-1), ValueError);
}

TEST(LrSchedule, TimeScheduledStepFollowsWhicheverIsFurtherAlong) {
  EXPECT_EQ(time_scheduled_step(10, 1000, 50.0, 100.0), 500);    // half the time: half the schedule
  EXPECT_EQ(time_scheduled_step(700, 1000, 50.0, 100.0), 700);   // the steps are further along
  EXPECT_EQ(time_scheduled_step(10, 1000, 250.0, 100.0), 1000);  // past the limit: the end, no further
  EXPECT_EQ(time_scheduled_step(10, 1000, 50.0, 0.0), 10);       // no limit: the step
  EXPECT_EQ(time_scheduled_step(0, 3, 0.999, 1.0), 2);           // rounded down
}

TEST(LrSchedule, Misuse) {
  expect_error<ValueError>([] { ConstantSchedule(-1.0); }, {"ConstantSchedule", "learning_rate", "-1"});
  expect_error<ValueError>([] { ConstantSchedule(1.0).learning_rate(-3); }, {"ConstantSchedule", "step", "-3"});
  expect_error<ValueError>([] { WarmupInverseSqrtSchedule(1.0, 0); },
                           {"WarmupInverseSqrtSchedule", "warmup_steps", ">= 1", "0"});
  expect_error<ValueError>([] { WarmupInverseSqrtSchedule(0.0, 10); }, {"peak_learning_rate", "> 0", "0"});
  expect_error<ValueError>([] { WarmupInverseSqrtSchedule(std::nan(""), 10); }, {"peak_learning_rate", "nan"});
  expect_error<ValueError>([] { WarmupInverseSqrtSchedule::for_model_dim(0, 10); }, {"model_dim", "0"});
  expect_error<ValueError>([] { WarmupInverseSqrtSchedule(1.0, 10).learning_rate(-1); }, {"step", "-1"});
  expect_error<ValueError>([] { WarmupCosineSchedule(1.0, 10, 10); }, {"total_steps", "> warmup_steps", "10"});
  expect_error<ValueError>([] { WarmupCosineSchedule(1.0, -2, 10); }, {"warmup_steps", "-2"});
  expect_error<ValueError>([] { WarmupCosineSchedule(1.0, 1, 10, 2.0); }, {"minimum_learning_rate", "[0, ", "2"});
  expect_error<ValueError>([] { WarmupCosineSchedule(1.0, 1, 10, -0.1); }, {"minimum_learning_rate", "-0.1"});
  expect_error<ValueError>([] { WarmupCosineSchedule(1.0, 1, 10).learning_rate(-5); }, {"WarmupCosineSchedule", "-5"});
}

}  // namespace
}  // namespace attend
