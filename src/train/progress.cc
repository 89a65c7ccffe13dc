#include "attend/train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace attend::train {

std::string format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::max(0.0, seconds) + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                   : fmt::format("{:02}:{:02}", s / 60, s % 60);
}

ProgressBar::ProgressBar(int64_t total_steps, std::FILE* stream, int64_t plain_every, std::string unit)
    : total_(std::max<int64_t>(total_steps, 1)),
      stream_(stream),
      plain_every_(std::max<int64_t>(plain_every, 1)),
      terminal_(isatty(fileno(stream)) != 0),
      unit_(std::move(unit)),
      start_(std::chrono::steady_clock::now()) {}

double ProgressBar::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count() - excluded_seconds_;
}

void ProgressBar::update(int64_t step, double loss, int64_t items_done, const std::string& extra) {
  if (!terminal_ && step % plain_every_ != 0 && step != total_) return;
  const double elapsed = elapsed_seconds();
  const double rate = elapsed > 0 ? items_done / elapsed : 0;
  double eta = step > first_step_ ? elapsed * (total_ - step) / (step - first_step_) : 0;
  if (time_left_ >= 0) {
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    eta = std::min(eta, std::max(0.0, time_left_ - wall));
  }
  const std::string text =
      fmt::format("step {}/{} loss {:.4f} {:.0f} {}/s elapsed {} ETA {}{}", step, total_, loss, rate, unit_,
                  format_duration(elapsed), format_duration(eta), extra.empty() ? "" : " " + extra);
  if (terminal_) {
    const int width = 24;
    const int filled = static_cast<int>(width * step / total_);
    fmt::print(stream_, "\r[{}{}] {}\x1b[K", std::string(filled, '='), std::string(width - filled, ' '), text);
  } else {
    fmt::print(stream_, "{}\n", text);
  }
  std::fflush(stream_);
}

void ProgressBar::finish() {
  if (terminal_) fmt::print(stream_, "\n");
  std::fflush(stream_);
}

}  // namespace attend::train
