// The one training recipe (train/recipe.h) with a task of the test's own: the best evaluation's
// weights come back whether the run writes files or not, the settings reach the checkpoint's
// metadata, shards that do not divide the batch are refused, and the test figures land in
// metrics.jsonl at the best step.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attend/core/random.h"
#include "attend/io/safetensors.h"
#include "attend/nn/linear.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/reduction.h"
#include "attend/train/recipe.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"

namespace attend {
namespace {

namespace fs = std::filesystem;

// y = w x + b fitted to y = 3 x, with an evaluation whose "score" is chosen by the test: the best
// evaluation is the one the test says, not the last.
class LineTask : public train::TrainingTask {
 public:
  LineTask(nn::Linear<float>& model, std::vector<double> scores) : model_(model), scores_(std::move(scores)) {}
  train::BatchLoss batch_loss(int64_t step, const train::Shard&) override {
    Generator data(500 + static_cast<uint64_t>(step));
    const Tensor<float> x = Tensor<float>::randn({8, 1}, data);  // (B, 1)
    const Tensor<float> error = sub(model_.forward(x), mul_scalar(x, 3.0f));
    return {mean(mul(error, error)), 8};
  }
  train::Metrics evaluate() override {
    weights_at_evaluation_.push_back(model_.weight().to_vector()[0]);
    return {{"score", scores_.at(weights_at_evaluation_.size() - 1)}};
  }
  std::vector<float> weights_at_evaluation_;

 private:
  nn::Linear<float>& model_;
  std::vector<double> scores_;
};

train::RecipeSettings line_settings() {
  train::RecipeSettings settings;
  settings.task = "train line";
  settings.steps = 6;
  settings.eval_every = 2;  // evaluations at steps 2, 4, 6
  settings.best_metric = "score";
  settings.higher_is_better = true;
  settings.batch_size = 8;
  settings.settings = train::shared_settings(8, 1, 0.1, 1, 0.0, 0.0);
  settings.restore_best = true;
  return settings;
}

struct LineRun {
  Generator generator{7};
  nn::Linear<float> model{1, 1, true, generator};
  std::unique_ptr<train::AdamW<float>> optimizer;
  train::ConstantSchedule schedule{0.1};
  LineRun() {
    train::AdamWOptions adam;
    adam.learning_rate = 0.1;
    adam.weight_decay = 0;
    optimizer = std::make_unique<train::AdamW<float>>(model.named_parameters(), adam);
  }
};

TEST(Recipe, BestEvaluationsWeightsComeBackWithAndWithoutFiles) {
  for (bool with_files : {false, true}) {
    testing::TempDir directory;
    LineRun run;
    LineTask task(run.model, {0.2, 0.9, 0.5});  // the best: the second evaluation, at step 4
    train::RunOptions options;
    options.quiet = true;
    if (with_files) options.out_dir = (directory.path() / "out").string();
    const train::TrainerResult trained =
        train::run_recipe(run.model, *run.optimizer, run.schedule, options, line_settings(), task);
    EXPECT_EQ(trained.best_step, 4);
    ASSERT_EQ(task.weights_at_evaluation_.size(), 3u);
    EXPECT_NE(task.weights_at_evaluation_[1], task.weights_at_evaluation_[2]);  // training moved on
    EXPECT_EQ(run.model.weight().to_vector()[0], task.weights_at_evaluation_[1]) << "with files: " << with_files;
    if (!with_files) continue;
    const io::Metadata metadata = io::load_safetensors(options.out_dir + "/checkpoint.safetensors").metadata();
    EXPECT_EQ(metadata.at("train.batch_size"), "8");
    EXPECT_EQ(metadata.at("train.learning_rate"), "0.1");
    train::record_test_metrics(options, trained.best_step, {{"accuracy", 0.75}});
    std::ifstream metrics(options.out_dir + "/metrics.jsonl");
    std::string line, last;
    int lines = 0;
    while (std::getline(metrics, line)) last = line, ++lines;
    EXPECT_EQ(lines, 4);  // three evaluations, then the test line
    const auto parsed = nlohmann::json::parse(last);
    EXPECT_EQ(parsed["step"], 4);
    EXPECT_EQ(parsed["test_accuracy"], 0.75);
  }
}

TEST(Recipe, RefusesShardsThatDoNotDivideTheBatchAndAForeignResume) {
  LineRun run;
  LineTask task(run.model, {0, 0, 0});
  train::RunOptions options;
  options.quiet = true;
  options.shards = 3;
  expect_error<ValueError>(
      [&] { train::run_recipe(run.model, *run.optimizer, run.schedule, options, line_settings(), task); },
      {"train line: --shards 3 must be >= 1 and divide the batch size 8"});
  options.shards = 1;
  options.resume_from = "/elsewhere/checkpoint.safetensors";
  expect_error<ValueError>(
      [&] { train::run_recipe(run.model, *run.optimizer, run.schedule, options, line_settings(), task); },
      {"train line: resume from OUT/checkpoint.safetensors of the run's --out"});
}

}  // namespace
}  // namespace attend
