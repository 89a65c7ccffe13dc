#include "train/run_sinks.h"

#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attend/core/error.h"
#include "attend/io/tensorboard.h"
#include "attend/train/progress.h"

namespace attend::train {
namespace {

class MetricsFileSink : public RunSink {
 public:
  MetricsFileSink(const std::string& path, bool append)
      : path_(path), file_(path, std::ios::out | (append ? std::ios::app : std::ios::trunc)) {
    ATTEND_CHECK(file_.good(), ValueError, "cannot write metrics to '{}'", path);
  }
  void evaluation(const EvaluationRecord& r) override {
    nlohmann::ordered_json line;
    line["step"] = r.step;
    line["loss"] = r.running_loss;
    line["learning_rate"] = r.learning_rate;
    line["train_seconds"] = r.train_seconds;
    line["items_per_second"] = r.items_per_second;
    if (!r.wait_seconds.empty()) {  // this process's time in the gradient exchange so far
      line["wait_seconds"] = r.wait_seconds;
      line["exchange_seconds"] = r.exchange_seconds;
    }
    for (const auto& [name, value] : *r.metrics) line[name] = value;
    file_ << line.dump() << "\n";
    file_.flush();
    ATTEND_CHECK(file_.good(), io::IoError, "cannot append to '{}'", path_);
  }

 private:
  std::string path_;
  std::ofstream file_;
};

class TensorBoardSink : public RunSink {
 public:
  TensorBoardSink(const std::string& directory, int64_t every)
      : writer_(directory), every_(std::max<int64_t>(every, 1)) {}
  void step(const StepRecord& r) override {
    if (r.step % every_ != 0 && !r.last) return;
    writer_.add_scalar("train/loss", r.running_loss, r.step);
    writer_.add_scalar("train/learning_rate", r.learning_rate, r.step);
    writer_.add_scalar("train/items_per_second", r.items_per_second, r.step);
  }
  void evaluation(const EvaluationRecord& r) override {
    for (const auto& [name, value] : *r.metrics) writer_.add_scalar("eval/" + name, value, r.step);
    for (const EvalImage& image : *r.images) {
      writer_.add_png(image.tag, image.png, image.height, image.width, image.channels, r.step);
    }
    writer_.flush();
  }

 private:
  io::TensorBoardWriter writer_;
  int64_t every_;
};

class ProgressSink : public RunSink {
 public:
  ProgressSink(int64_t steps, int64_t first_step, double time_left, const std::string& items_name)
      : bar_(steps, stderr, 50, items_name) {
    bar_.set_first_step(first_step);
    if (time_left >= 0) bar_.set_time_left(time_left);
  }
  void step(const StepRecord& r) override { bar_.update(r.step, r.running_loss, r.items); }
  void evaluation(const EvaluationRecord& r) override {
    std::string text;
    for (const auto& [name, value] : *r.metrics) text += fmt::format(" {} {:.4g}", name, value);
    fmt::print(stderr, "\nstep {}:{}{}\n", r.step, text, r.improved && !r.best_metric.empty() ? " (best)" : "");
  }
  void evaluation_finished(double seconds) override { bar_.exclude_seconds(seconds); }
  void finish() override { bar_.finish(); }

 private:
  ProgressBar bar_;
};

}  // namespace

std::unique_ptr<RunSink> metrics_file_sink(const std::string& path, bool append) {
  return std::make_unique<MetricsFileSink>(path, append);
}

std::unique_ptr<RunSink> tensorboard_sink(const std::string& directory, int64_t every) {
  return std::make_unique<TensorBoardSink>(directory, every);
}

std::unique_ptr<RunSink> progress_sink(int64_t steps, int64_t first_step, double time_left,
                                       const std::string& items_name) {
  return std::make_unique<ProgressSink>(steps, first_step, time_left, items_name);
}

}  // namespace attend::train
