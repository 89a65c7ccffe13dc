#include "attend/train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "attend/core/error.h"

namespace attend::train {
namespace {

void check_step(int64_t step, const char* schedule) {
  ATTEND_CHECK(step >= 0, ValueError, "{}::learning_rate: step must be >= 0, got {}", schedule, step);
}

void check_peak(double peak, const char* schedule) {
  ATTEND_CHECK(std::isfinite(peak) && peak > 0, ValueError, "{}: peak_learning_rate must be finite and > 0, got {}",
               schedule, peak);
}

void check_warmup(int64_t warmup_steps, const char* schedule) {
  ATTEND_CHECK(warmup_steps >= 1, ValueError, "{}: warmup_steps must be >= 1, got {}", schedule, warmup_steps);
}

}  // namespace

ConstantSchedule::ConstantSchedule(double learning_rate) : learning_rate_(learning_rate) {
  ATTEND_CHECK(std::isfinite(learning_rate) && learning_rate >= 0, ValueError,
               "ConstantSchedule: learning_rate must be finite and >= 0, got {}", learning_rate);
}

double ConstantSchedule::learning_rate(int64_t step) const {
  check_step(step, "ConstantSchedule");
  return learning_rate_;
}

WarmupInverseSqrtSchedule::WarmupInverseSqrtSchedule(double peak_learning_rate, int64_t warmup_steps)
    : peak_(peak_learning_rate), warmup_(warmup_steps) {
  check_peak(peak_learning_rate, "WarmupInverseSqrtSchedule");
  check_warmup(warmup_steps, "WarmupInverseSqrtSchedule");
}

WarmupInverseSqrtSchedule WarmupInverseSqrtSchedule::for_model_dim(int64_t model_dim, int64_t warmup_steps) {
  ATTEND_CHECK(model_dim >= 1, ValueError, "WarmupInverseSqrtSchedule::for_model_dim: model_dim must be >= 1, got {}",
               model_dim);
  check_warmup(warmup_steps, "WarmupInverseSqrtSchedule::for_model_dim");
  return WarmupInverseSqrtSchedule(1 / std::sqrt(static_cast<double>(model_dim) * static_cast<double>(warmup_steps)),
                                   warmup_steps);
}

double WarmupInverseSqrtSchedule::learning_rate(int64_t step) const {
  check_step(step, "WarmupInverseSqrtSchedule");
  const double s = static_cast<double>(step) + 1;
  const double warmup = static_cast<double>(warmup_);
  // Branch on s rather than taking min() of both: each side is then exactly 1 at s = warmup.
  return s <= warmup ? peak_ * (s / warmup) : peak_ * std::sqrt(warmup / s);
}

WarmupCosineSchedule::WarmupCosineSchedule(double peak_learning_rate, int64_t warmup_steps, int64_t total_steps,
                                           double minimum_learning_rate)
    : peak_(peak_learning_rate), minimum_(minimum_learning_rate), warmup_(warmup_steps), total_(total_steps) {
  check_peak(peak_learning_rate, "WarmupCosineSchedule");
  check_warmup(warmup_steps, "WarmupCosineSchedule");
  ATTEND_CHECK(total_steps > warmup_steps, ValueError,
               "WarmupCosineSchedule: total_steps must be > warmup_steps, got total_steps {} and warmup_steps {}",
               total_steps, warmup_steps);
  ATTEND_CHECK(minimum_learning_rate >= 0 && minimum_learning_rate <= peak_learning_rate, ValueError,
               "WarmupCosineSchedule: minimum_learning_rate must be in [0, peak_learning_rate = {}], got {}",
               peak_learning_rate, minimum_learning_rate);
}

double WarmupCosineSchedule::learning_rate(int64_t step) const {
  check_step(step, "WarmupCosineSchedule");
  const double s = static_cast<double>(step) + 1;
  const double warmup = static_cast<double>(warmup_);
  if (s <= warmup) return peak_ * (s / warmup);
  const double progress = std::min(1.0, (s - warmup) / static_cast<double>(total_ - warmup_ + 1));
  return minimum_ + (peak_ - minimum_) * (1 + std::cos(std::numbers::pi * progress)) / 2;
}

WarmupLinearSchedule::WarmupLinearSchedule(double peak_learning_rate, int64_t warmup_steps, int64_t total_steps)
    : peak_(peak_learning_rate), warmup_(warmup_steps), total_(total_steps) {
  check_peak(peak_learning_rate, "WarmupLinearSchedule");
  check_warmup(warmup_steps, "WarmupLinearSchedule");
  ATTEND_CHECK(total_steps > warmup_steps, ValueError,
               "WarmupLinearSchedule: total_steps must be > warmup_steps, got total_steps {} and warmup_steps {}",
               total_steps, warmup_steps);
}

double WarmupLinearSchedule::learning_rate(int64_t step) const {
  check_step(step, "WarmupLinearSchedule");
  const double s = static_cast<double>(step) + 1;
  const double warmup = static_cast<double>(warmup_), total = static_cast<double>(total_);
  if (s <= warmup) return peak_ * (s / warmup);
  return peak_ * std::max(0.0, (total + 1 - s) / (total + 1 - warmup));
}

int64_t time_scheduled_step(int64_t step, int64_t total_steps, double elapsed_seconds, double time_limit_seconds) {
  if (time_limit_seconds <= 0) return step;
  const double by_time = std::min(1.0, elapsed_seconds / time_limit_seconds) * static_cast<double>(total_steps);
  return std::max(step, static_cast<int64_t>(by_time));
}

}  // namespace attend::train
