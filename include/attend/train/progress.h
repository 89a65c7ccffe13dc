// A progress line for training loops: step, loss, throughput and ETA. On a terminal it redraws
// one line; elsewhere (logs, CI) it prints a plain line every `plain_every` updates.
// Line: "step S/T loss L R unit/s elapsed MM:SS ETA MM:SS [extra]".
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace attend::train {

class ProgressBar {
 public:
  // `unit` names the items counted by update(), for the rate ("tok/s", "img/s").
  ProgressBar(int64_t total_steps, std::FILE* stream = stderr, int64_t plain_every = 50, std::string unit = "tok");
  // Reports step (1-based), the running loss and the items (e.g. target tokens) processed so far.
  void update(int64_t step, double loss, int64_t items_done, const std::string& extra = "");
  void finish();
  // Seconds since construction, less the excluded ones.
  double elapsed_seconds() const;

  // A resumed run starts counting at `step` (for the ETA).
  void set_first_step(int64_t step) { first_step_ = step; }
  // A run that stops at a time limit `seconds` of wall-clock time after construction: the ETA
  // is the sooner of the steps' end and that.
  void set_time_left(double seconds) { time_left_ = seconds; }
  // Leaves time spent elsewhere (evaluations) out of the throughput and the ETA.
  void exclude_seconds(double seconds) { excluded_seconds_ += seconds; }

 private:
  int64_t total_;
  std::FILE* stream_;
  int64_t plain_every_;
  bool terminal_;
  std::string unit_;
  std::chrono::steady_clock::time_point start_;
  int64_t first_step_ = 0;
  double excluded_seconds_ = 0;
  double time_left_ = -1;  // < 0: no time limit
};

// "1:02:03" / "02:03".
std::string format_duration(double seconds);

}  // namespace attend::train
