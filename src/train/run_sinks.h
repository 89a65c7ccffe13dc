// Where a training run's figures go (internal to train/): OUT/metrics.jsonl, TensorBoard event
// files and the terminal's progress line. The Trainer hands each sink every step and every
// evaluation; what a sink keeps or prints is its own business, so a new destination is a sink,
// not a change to the loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attend/train/trainer.h"

namespace attend::train {

// After optimizer step `step` (1-based).
struct StepRecord {
  int64_t step = 0;
  double running_loss = 0, learning_rate = 0;
  int64_t items = 0;            // this run's items so far
  double items_per_second = 0;  // over this run's training time
  bool last = false;            // the run's last step (whatever stops it)
};

// After the evaluation at step `step`.
struct EvaluationRecord {
  int64_t step = 0;
  double running_loss = 0, learning_rate = 0;
  double train_seconds = 0;     // of the whole run, the runs it resumes included
  double items_per_second = 0;  // this process's, over this run's training time
  // Every rank's seconds so far waiting for the slowest and exchanging (data parallelism; empty
  // otherwise).
  std::vector<double> wait_seconds, exchange_seconds;
  const Metrics* metrics = nullptr;
  const std::vector<EvalImage>* images = nullptr;
  bool improved = false;    // the best metric improved (always true without one)
  std::string best_metric;  // empty: none watched
};

class RunSink {
 public:
  virtual ~RunSink() = default;
  virtual void step(const StepRecord&) {}
  virtual void evaluation(const EvaluationRecord&) {}
  // The evaluation and the files written after it took `seconds`.
  virtual void evaluation_finished(double /*seconds*/) {}
  virtual void finish() {}
};

// OUT/metrics.jsonl: one JSON line an evaluation (step, loss, learning_rate, train_seconds,
// items_per_second, wait/exchange seconds when data parallel, then the metrics), flushed each
// time. A resumed run appends, a fresh one starts the file anew.
std::unique_ptr<RunSink> metrics_file_sink(const std::string& path, bool append);

// TensorBoard: train/loss, train/learning_rate, train/items_per_second every `every` steps and
// at the last; eval/<metric> and the evaluation's images at each evaluation.
std::unique_ptr<RunSink> tensorboard_sink(const std::string& directory, int64_t every);

// The progress line on stderr (ProgressBar) and a line per evaluation; evaluations are left out
// of its rate and ETA. time_left: seconds of the time limit still to run, or < 0 for none.
std::unique_ptr<RunSink> progress_sink(int64_t steps, int64_t first_step, double time_left,
                                       const std::string& items_name);

}  // namespace attend::train
