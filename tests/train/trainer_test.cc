// The Trainer: resuming is bitwise identical to an uninterrupted run (parameters, optimizer
// state, dropout streams), the best model is kept, earlier runs are not overwritten, and
// broken checkpoints are refused with a clear message.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "attend/core/error.h"
#include "attend/core/random.h"
#include "attend/io/safetensors.h"
#include "attend/nn/linear.h"
#include "attend/nn/transformer.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/reduction.h"
#include "attend/train/optimizer.h"
#include "attend/train/trainer.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"

namespace attend {
namespace {

namespace fs = std::filesystem;
using train::BatchLoss;
using train::Metrics;
using train::Trainer;
using train::TrainerOptions;

// One Transformer encoder layer (with dropout, so that random streams matter) and a linear head.
class TinyModel : public nn::Module<float> {
 public:
  explicit TinyModel(uint64_t seed) : generator_(seed) {
    nn::TransformerLayerConfig config;
    config.model_dim = 8;
    config.num_heads = 2;
    config.feedforward_dim = 16;
    config.dropout = 0.2;
    config.norm_first = true;
    layer_ = register_module("layer", std::make_shared<nn::TransformerEncoderLayer<float>>(config, generator_));
    head_ = register_module("head", std::make_shared<nn::Linear<float>>(8, 1, true, generator_));
  }
  Tensor<float> forward(const Tensor<float>& x) {
    return head_->forward(layer_->forward(x));
  }  // (B, L, 8) -> (B, L, 1)

 private:
  Generator generator_;
  std::shared_ptr<nn::TransformerEncoderLayer<float>> layer_;
  std::shared_ptr<nn::Linear<float>> head_;
};

// Batch `step` is a pure function of the step, as the Trainer requires of recipes.
BatchLoss tiny_batch(TinyModel& model, int64_t step) {
  Generator data(1000 + static_cast<uint64_t>(step));
  const Tensor<float> x = Tensor<float>::randn({2, 3, 8}, data);  // (B, L, E)
  const Tensor<float> y = Tensor<float>::randn({2, 3, 1}, data);
  const Tensor<float> error = sub(model.forward(x), y);
  return {mean(mul(error, error)), 6};
}

struct TrainingRun {
  std::unique_ptr<TinyModel> model;
  std::unique_ptr<train::AdamW<float>> optimizer;
  std::unique_ptr<Trainer> trainer;
};

TrainingRun make_run(uint64_t seed, TrainerOptions options) {
  TrainingRun run;
  run.model = std::make_unique<TinyModel>(seed);
  train::AdamWOptions adam;
  adam.learning_rate = 1e-2;
  run.optimizer = std::make_unique<train::AdamW<float>>(run.model->named_parameters(), adam);
  run.trainer = std::make_unique<Trainer>(*run.model, *run.optimizer, options);
  run.trainer->set_schedule([](int64_t step) { return 1e-2 / (1.0 + step); });
  return run;
}

train::TrainerResult train(TrainingRun& run, const std::function<Metrics()>& evaluate) {
  return run.trainer->run([&](int64_t step) { return tiny_batch(*run.model, step); }, evaluate);
}

Metrics constant_metrics() { return {{"score", 1.0}}; }

// Makes the run's schedule a constant rate that records the 0-based steps it is evaluated at.
std::shared_ptr<std::vector<int64_t>> record_schedule_steps(TrainingRun& run) {
  auto steps = std::make_shared<std::vector<int64_t>>();
  run.trainer->set_schedule([steps](int64_t step) {
    steps->push_back(step);
    return 1e-2;
  });
  return steps;
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = temp_.path(); }
  TrainerOptions options(int64_t steps, const std::string& sub = "run") const {
    TrainerOptions o;
    o.steps = steps;
    o.eval_every = 2;
    o.clip_norm = 1.0;
    o.out_dir = (dir_ / sub).string();
    o.metadata = {{"task", "tiny"}};
    o.quiet = true;
    return o;
  }
  testing::TempDir temp_;
  fs::path dir_;
};

void expect_same_parameters(const nn::Module<float>& a, const nn::Module<float>& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_EQ(pa[i].second.to_vector(), pb[i].second.to_vector()) << pa[i].first;  // bitwise
  }
}

TEST_F(TrainerTest, ResumedRunIsBitwiseIdenticalToAnUninterruptedOne) {
  TrainingRun whole = make_run(7, options(8, "whole"));
  train(whole, constant_metrics);

  TrainingRun first = make_run(7, options(4, "split"));
  train(first, constant_metrics);
  // A fresh process would build the model from another seed: every state must come from the file.
  TrainerOptions resumed_options = options(8, "split");
  resumed_options.resume_from = (dir_ / "split" / "checkpoint.safetensors").string();
  TrainingRun second = make_run(99, resumed_options);
  const train::TrainerResult result = train(second, constant_metrics);
  EXPECT_TRUE(result.resumed);
  EXPECT_EQ(result.steps, 8);
  expect_same_parameters(*whole.model, *second.model);
  const auto state_whole = whole.optimizer->state(), state_second = second.optimizer->state();
  ASSERT_EQ(state_whole.size(), state_second.size());
  for (size_t i = 0; i < state_whole.size(); ++i) {
    EXPECT_EQ(state_whole[i].second.to_vector(), state_second[i].second.to_vector()) << state_whole[i].first;
  }
  // And the dropout streams are where the uninterrupted run left them.
  const auto gw = whole.model->named_generators(), gs = second.model->named_generators();
  ASSERT_EQ(gw.size(), 3u);  // the layer's own, its self-attention's and its feed-forward's
  for (size_t i = 0; i < gw.size(); ++i) EXPECT_EQ(gw[i].second->state(), gs[i].second->state()) << gw[i].first;

  // Without restoring the random streams the run would differ: the test can fail.
  TrainingRun unrestored = make_run(99, options(8, "other"));
  train(unrestored, constant_metrics);
  EXPECT_NE(unrestored.model->named_parameters()[0].second.to_vector(),
            whole.model->named_parameters()[0].second.to_vector());
}

// What a kill -9 leaves: a metrics line past the checkpoint, a line torn in half, and the
// temporary files of interrupted checkpoint writes. Resuming cleans up exactly those.
TEST_F(TrainerTest, ResumeDropsMetricsPastTheCheckpointAndStaleTemporaries) {
  TrainingRun first = make_run(7, options(4));
  train(first, constant_metrics);
  const fs::path run = dir_ / "run";
  std::ofstream(run / "metrics.jsonl", std::ios::app) << "{\"step\": 6, \"loss\": 1.0}\n{\"step\": 7, \"lo";
  const pid_t child = ::fork();  // a process id that is surely gone once waited for
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);
  const std::string dead = std::to_string(child), alive = std::to_string(::getpid());
  const std::vector<std::string> stale = {".checkpoint.safetensors.tmp-" + dead + "-0",
                                          ".model.safetensors.tmp-" + dead + "-3"};
  const std::vector<std::string> kept = {".checkpoint.safetensors.tmp-" + alive + "-9",  // a live writer's
                                         ".notes.txt.tmp-" + dead + "-0"};               // not one of the run's files
  for (const auto& name : stale) std::ofstream(run / name) << "partial";
  for (const auto& name : kept) std::ofstream(run / name) << "partial";

  TrainerOptions resumed = options(8);
  resumed.resume_from = (run / "checkpoint.safetensors").string();
  TrainingRun second = make_run(7, resumed);
  train(second, constant_metrics);

  std::ifstream metrics(run / "metrics.jsonl");
  std::vector<int64_t> steps;
  for (std::string line; std::getline(metrics, line);)
    steps.push_back(nlohmann::json::parse(line)["step"].get<int64_t>());
  EXPECT_EQ(steps, (std::vector<int64_t>{2, 4, 6, 8}));
  for (const auto& name : stale) EXPECT_FALSE(fs::exists(run / name)) << name;
  for (const auto& name : kept) EXPECT_TRUE(fs::exists(run / name)) << name;
}

TEST_F(TrainerTest, KeepsTheBestModelAndLogsEveryEvaluation) {
  // Scores 0.5, 0.2, 0.4, 0.3 at steps 2, 4, 6, 8: the best (lowest) is step 4.
  const std::vector<double> scores = {0.5, 0.2, 0.4, 0.3};
  size_t calls = 0;
  TrainerOptions o = options(8);
  o.best_metric = "score";
  TrainingRun run = make_run(3, o);
  std::vector<float> weights_at_best;
  const train::TrainerResult result = train(run, [&]() -> Metrics {
    const double score = scores.at(calls++);
    if (score == 0.2) weights_at_best = run.model->named_parameters()[0].second.to_vector();
    return {{"score", score}};
  });
  EXPECT_EQ(calls, 4u);
  EXPECT_EQ(result.best_step, 4);
  ASSERT_EQ(result.best.size(), 1u);
  EXPECT_EQ(result.best[0].second, 0.2);
  EXPECT_EQ(result.last[0].second, 0.3);

  TinyModel reloaded(5);
  const io::Metadata metadata = train::load_model_weights((dir_ / "run" / "model.safetensors").string(), reloaded);
  EXPECT_EQ(metadata.at("trainer.step"), "4");
  EXPECT_EQ(metadata.at("task"), "tiny");
  EXPECT_EQ(reloaded.named_parameters()[0].second.to_vector(), weights_at_best);

  std::ifstream log(dir_ / "run" / "metrics.jsonl");
  std::vector<std::string> lines;
  for (std::string line; std::getline(log, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[1].find("\"step\":4"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("\"score\":0.2"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("\"learning_rate\""), std::string::npos) << lines[1];
}

TEST_F(TrainerTest, KeepsASnapshotAtEveryEvaluationWhenAsked) {
  const auto snapshot_names = [&] {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_ / "run" / "snapshots"))
      names.push_back(entry.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  };
  TrainerOptions o = options(4);  // evaluations at steps 2 and 4
  o.keep_snapshots = true;
  TrainingRun run = make_run(3, o);
  train(run, constant_metrics);
  EXPECT_EQ(snapshot_names(), (std::vector<std::string>{"model-0000002.safetensors", "model-0000004.safetensors"}));
  TinyModel reloaded(5);
  const io::Metadata metadata =
      train::load_model_weights((dir_ / "run" / "snapshots" / "model-0000004.safetensors").string(), reloaded);
  EXPECT_EQ(metadata.at("trainer.step"), "4");
  EXPECT_EQ(metadata.at("trainer.metrics.score"), "1");  // the metrics of its own evaluation
  expect_same_parameters(*run.model, reloaded);

  // A fresh run over it (--overwrite) does not inherit the earlier run's snapshots.
  TrainerOptions again = options(2);
  again.overwrite = true;
  again.keep_snapshots = true;
  TrainingRun second = make_run(3, again);
  train(second, constant_metrics);
  EXPECT_EQ(snapshot_names(), std::vector<std::string>{"model-0000002.safetensors"});

  // A file where the directory should be: an error before any training.
  TrainerOptions blocked = options(2, "blocked");
  blocked.keep_snapshots = true;
  blocked.overwrite = true;  // else the constructor already refuses the "earlier run"
  fs::create_directories(dir_ / "blocked");
  std::ofstream(dir_ / "blocked" / "snapshots") << "in the way";
  TrainingRun third = make_run(3, blocked);
  bool trained = false;
  expect_error<io::IoError>(
      [&] {
        third.trainer->run(
            [&](int64_t step) {
              trained = true;
              return tiny_batch(*third.model, step);
            },
            constant_metrics);
      },
      {"snapshots"});
  EXPECT_FALSE(trained);
}

TEST_F(TrainerTest, HigherIsBetterPicksTheLargest) {
  const std::vector<double> scores = {0.1, 0.9, 0.5};
  size_t calls = 0;
  TrainerOptions o = options(6);
  o.best_metric = "accuracy";
  o.higher_is_better = true;
  TrainingRun run = make_run(3, o);
  const auto result = train(run, [&]() -> Metrics { return {{"accuracy", scores.at(calls++)}}; });
  EXPECT_EQ(result.best_step, 4);
}

// Patience 2: evaluations at steps 2, 4, 6, 8 score 0.5, 0.9, 0.8, 0.7: the best is step 4, and
// the second evaluation without a better score (step 8) stops the run.
TEST_F(TrainerTest, PatienceStopsAfterThatManyEvaluationsWithoutImprovement) {
  const std::vector<double> scores = {0.5, 0.9, 0.8, 0.7, 0.95, 0.99};
  size_t calls = 0;
  TrainerOptions o = options(12);
  o.best_metric = "f1";
  o.higher_is_better = true;
  o.patience = 2;
  TrainingRun run = make_run(3, o);
  const auto result = train(run, [&]() -> Metrics { return {{"f1", scores.at(calls++)}}; });
  EXPECT_TRUE(result.stopped_early);
  EXPECT_EQ(result.steps, 8);
  EXPECT_EQ(result.best_step, 4);
  EXPECT_EQ(calls, 4u);
  EXPECT_EQ(train::load_model_weights((dir_ / "run" / "model.safetensors").string(), *run.model).at("trainer.step"),
            "4");

  // Resumed from step 6 (one stale evaluation counted): the next stale one stops it at step 8 too.
  TrainerOptions first = options(6, "resumed");
  first.best_metric = "f1";
  first.higher_is_better = true;
  first.patience = 2;
  calls = 0;
  TrainingRun part = make_run(3, first);
  EXPECT_FALSE(train(part, [&]() -> Metrics { return {{"f1", scores.at(calls++)}}; }).stopped_early);
  TrainerOptions rest = first;
  rest.steps = 12;
  rest.resume_from = (dir_ / "resumed" / "checkpoint.safetensors").string();
  TrainingRun resumed = make_run(3, rest);
  const auto continued = train(resumed, [&]() -> Metrics { return {{"f1", scores.at(calls++)}}; });
  EXPECT_TRUE(continued.stopped_early);
  EXPECT_EQ(continued.steps, 8);

  TrainerOptions no_metric = options(4, "bad");
  no_metric.patience = 1;
  expect_error<ValueError>([&] { make_run(1, no_metric); }, {"patience", "best_metric"});
  no_metric.patience = -1;
  expect_error<ValueError>([&] { make_run(1, no_metric); }, {"patience must be >= 0", "-1"});
}

TEST_F(TrainerTest, RefusesToOverwriteAnEarlierRunUnlessAsked) {
  TrainingRun run = make_run(1, options(2));
  train(run, constant_metrics);
  expect_error<ValueError>([&] { make_run(1, options(2)); }, {"model.safetensors", "exists", "--overwrite"});
  TrainerOptions o = options(2);
  o.overwrite = true;
  TrainingRun again = make_run(1, o);
  train(again, constant_metrics);
}

TEST_F(TrainerTest, TimeLimitStopsEarlyAndStillEvaluates) {
  TrainerOptions o = options(1000000);
  o.eval_every = 0;
  o.time_limit_seconds = 1e-9;
  size_t calls = 0;
  TrainingRun run = make_run(1, o);
  const auto result = train(run, [&]() -> Metrics {
    ++calls;
    return {{"score", 1.0}};
  });
  EXPECT_EQ(result.steps, 1);
  EXPECT_EQ(calls, 1u);
  EXPECT_TRUE(fs::exists(dir_ / "run" / "checkpoint.safetensors"));
}

TEST_F(TrainerTest, ScheduleByTimeEndsTheScheduleAtTheTimeLimit) {
  for (const bool by_time : {false, true}) {
    TrainerOptions o = options(40, by_time ? "by_time" : "by_step");
    o.eval_every = 0;
    o.time_limit_seconds = 1e-9;  // out of time after the first step
    o.schedule_by_time = by_time;
    TrainingRun run = make_run(1, o);
    const auto schedule_steps = record_schedule_steps(run);
    train(run, constant_metrics);
    // By time, the one step taken is already at the schedule's end (step 40 of 40).
    EXPECT_EQ(*schedule_steps, std::vector<int64_t>{by_time ? 40 : 0});
  }
}

TEST_F(TrainerTest, AResumedRunCountsTheTimeOfTheRunItContinues) {
  TrainingRun first = make_run(1, options(4, "run"));
  train(first, constant_metrics);
  const std::string checkpoint = (dir_ / "run" / "checkpoint.safetensors").string();
  const io::Metadata metadata = io::load_safetensors(checkpoint).metadata();
  const double train_seconds = std::strtod(metadata.at("trainer.train_seconds").c_str(), nullptr);
  const double elapsed = std::strtod(metadata.at("trainer.elapsed_seconds").c_str(), nullptr);
  EXPECT_GT(train_seconds, 0);
  EXPECT_GE(elapsed, train_seconds);  // evaluations and saving too

  // A limit just above the time already spent: one more step, and the schedule by time is at
  // its end. A resumed run that started its clock at 0 would take all 4 steps from step 4.
  TrainerOptions o = options(8, "run");
  o.resume_from = checkpoint;
  o.time_limit_seconds = elapsed + 1e-9;
  o.schedule_by_time = true;
  TrainingRun second = make_run(1, o);
  const auto schedule_steps = record_schedule_steps(second);
  EXPECT_EQ(train(second, constant_metrics).steps, 5);
  ASSERT_EQ(schedule_steps->size(), 1u);
  EXPECT_GE(schedule_steps->at(0), 7);  // (elapsed + this run's time) / limit of 8 steps, truncated

  // The second run stopped at its limit: resuming it with the same limit is refused (before
  // anything changes) rather than run for one more step.
  TrainerOptions spent = options(8, "run");
  spent.resume_from = checkpoint;
  spent.time_limit_seconds = o.time_limit_seconds;
  TrainingRun third = make_run(1, spent);
  const auto untouched = third.model->named_parameters()[0].second.to_vector();
  expect_error<ValueError>([&] { train(third, constant_metrics); }, {"time limit", "--time-limit"});
  EXPECT_EQ(third.model->named_parameters()[0].second.to_vector(), untouched);
}

TEST_F(TrainerTest, BrokenOrMismatchedCheckpointsAreRefused) {
  TrainingRun first = make_run(1, options(2));
  train(first, constant_metrics);
  const std::string checkpoint = (dir_ / "run" / "checkpoint.safetensors").string();

  TrainerOptions missing = options(4, "b");
  missing.resume_from = (dir_ / "absent.safetensors").string();
  TrainingRun a = make_run(1, missing);
  expect_error<ValueError>([&] { train(a, constant_metrics); }, {"absent.safetensors", "does not exist"});

  TrainerOptions other_task = options(4, "c");
  other_task.resume_from = checkpoint;
  other_task.metadata = {{"task", "other"}};
  TrainingRun b = make_run(1, other_task);
  expect_error<ValueError>([&] { train(b, constant_metrics); }, {"task", "tiny", "other"});

  TrainerOptions done = options(2, "d");
  done.resume_from = checkpoint;
  TrainingRun c = make_run(1, done);
  expect_error<ValueError>([&] { train(c, constant_metrics); }, {"step 2", "--steps"});

  // model.safetensors holds weights only: no optimizer state, no random streams.
  TrainerOptions weights_only = options(4, "e");
  weights_only.resume_from = (dir_ / "run" / "model.safetensors").string();
  TrainingRun d = make_run(1, weights_only);
  expect_error<ValueError>([&] { train(d, constant_metrics); }, {"model.safetensors", "not a training checkpoint"});

  // A checkpoint whose random stream is of the wrong shape.
  const io::SafetensorsFile file = io::load_safetensors(checkpoint);
  io::NamedTensors tensors = file.tensors();
  for (auto& [name, tensor] : tensors) {
    if (name.rfind("rng.", 0) == 0) tensor = Tensor<int64_t>::zeros({3});
  }
  const std::string broken = (dir_ / "broken.safetensors").string();
  io::save_safetensors(broken, tensors, file.metadata());
  TrainerOptions bad_rng = options(4, "f");
  bad_rng.resume_from = broken;
  TrainingRun e = make_run(1, bad_rng);
  expect_error<ValueError>([&] { train(e, constant_metrics); }, {"random stream state", "I64 of shape [9]"});

  expect_error<ValueError>(
      [&] {
        TrainerOptions reserved = options(2, "g");
        reserved.metadata = {{"trainer.step", "1"}};
        make_run(1, reserved);
      },
      {"reserved"});
}

// The optimizer's moments are checked on resume as parameters are: one NaN would make every later
// update of its parameter NaN. The error names the file, the tensor and the index.
TEST_F(TrainerTest, NonFiniteOptimizerStateIsRefusedOnResume) {
  TrainingRun first = make_run(1, options(2));
  train(first, constant_metrics);
  const io::SafetensorsFile file = io::load_safetensors((dir_ / "run" / "checkpoint.safetensors").string());
  io::NamedTensors tensors;
  std::string poisoned;
  for (const auto& [name, tensor] : file.tensors()) {
    const auto* values = std::get_if<Tensor<float>>(&tensor);
    if (poisoned.empty() && name.starts_with("optimizer.") && values != nullptr && values->rank() == 1 &&
        values->numel() > 1) {
      Tensor<float> copy = values->contiguous().clone();
      copy.data()[1] = std::numeric_limits<float>::infinity();
      tensors.emplace_back(name, copy);
      poisoned = name;
    } else {
      tensors.emplace_back(name, tensor);
    }
  }
  ASSERT_FALSE(poisoned.empty()) << "no optimizer state of one axis and two or more elements";
  const std::string broken = (dir_ / "diverged.safetensors").string();
  io::save_safetensors(broken, tensors, file.metadata());
  TrainerOptions resume = options(4, "resumed");
  resume.resume_from = broken;
  TrainingRun second = make_run(1, resume);
  const auto before = second.model->named_parameters()[0].second.to_vector();
  expect_error<ValueError>([&] { train(second, constant_metrics); },
                           {"diverged.safetensors", "optimizer state '" + poisoned + "' holds inf at index (1)"});
  EXPECT_EQ(second.model->named_parameters()[0].second.to_vector(), before) << "a refused resume changes nothing";
}

TEST(GeneratorState, RoundTripContinuesTheSameStream) {
  Generator a(42);
  a.normal();  // leaves a spare normal and a half-used block
  a.next_u32();
  Generator b(0);
  b.set_state(a.state());
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(a.normal(), b.normal());
    EXPECT_EQ(a.next_u32(), b.next_u32());
  }
  Generator::State bad = a.state();
  bad[6] = 5;
  expect_error<ValueError>([&] { b.set_state(bad); }, {"not a generator state"});
}

}  // namespace
}  // namespace attend
