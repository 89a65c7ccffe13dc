#include "attend/train/recipe.h"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attend/core/error.h"
#include "attend/distributed/communicator.h"
#include "attend/io/atomic_file.h"
#include "attend/io/tensorboard.h"
#include "train/epoch_order.h"

namespace attend::train {
namespace {

namespace fs = std::filesystem;

// The weights of the best evaluation so far, for a run that writes no files (Trainer::set_on_best).
class BestInMemory {
 public:
  explicit BestInMemory(nn::Module<float>& model) : model_(model) {}
  void keep() {
    parameters_.clear();
    for (const auto& [name, parameter] : model_.named_parameters()) parameters_.push_back(parameter.to_vector());
  }
  void restore() const {
    if (parameters_.empty()) return;
    const auto parameters = model_.named_parameters();
    for (size_t i = 0; i < parameters.size(); ++i) {
      std::copy(parameters_[i].begin(), parameters_[i].end(), parameters[i].second.data());
    }
  }

 private:
  nn::Module<float>& model_;
  std::vector<std::vector<float>> parameters_;
};

TrainerOptions trainer_options(const RunOptions& run, RecipeSettings& s) {
  TrainerOptions o;
  static_cast<RunOptions&>(o) = run;  // where it writes, resume, time limit, metadata
  o.steps = s.steps;
  o.eval_every = s.eval_every;
  o.clip_norm = s.clip_norm;
  o.best_metric = s.best_metric;
  o.higher_is_better = s.higher_is_better;
  o.items_name = s.items_name;
  check_batch_shards(s.batch_size, run.shards, s.task, s.settings);
  if (s.training_items > 0) {
    check_last_batch_fills_shards(s.training_items, s.batch_size, run.shards, s.task, s.items_noun);
  }
  o.metadata.merge(s.settings);
  o.data_fingerprint = s.data_fingerprint;
  return o;
}

}  // namespace

io::Metadata shared_settings(int64_t batch_size, uint64_t seed, double learning_rate, int64_t warmup_steps,
                             double weight_decay, double clip_norm) {
  return {
      {"train.batch_size", std::to_string(batch_size)},          {"train.seed", std::to_string(seed)},
      {"train.learning_rate", fmt::format("{}", learning_rate)}, {"train.warmup_steps", std::to_string(warmup_steps)},
      {"train.weight_decay", fmt::format("{}", weight_decay)},   {"train.clip_norm", fmt::format("{}", clip_norm)}};
}

TrainerResult run_recipe(nn::Module<float>& model, Optimizer<float>& optimizer, const LearningRateSchedule& schedule,
                         const RunOptions& run, RecipeSettings settings, TrainingTask& task) {
  // The best model is read back from out_dir, so a resumed run must write there.
  ATTEND_CHECK(!settings.restore_best || run.resume_from.empty() ||
                   (!run.out_dir.empty() && fs::weakly_canonical(run.resume_from) ==
                                                fs::weakly_canonical(fs::path(run.out_dir) / "checkpoint.safetensors")),
               ValueError, "{}: resume from OUT/checkpoint.safetensors of the run's --out, got '{}'", settings.task,
               run.resume_from);
  Trainer trainer(model, optimizer, trainer_options(run, settings));
  trainer.set_schedule([&](int64_t step) { return schedule.learning_rate(step); });
  if (task.has_eval_images()) trainer.set_eval_images([&] { return task.eval_images(); });
  BestInMemory best(model);
  if (settings.restore_best && run.out_dir.empty()) trainer.set_on_best([&] { best.keep(); });
  const TrainerResult trained = trainer.run(
      [&](int64_t step, const Shard& shard) { return task.batch_loss(step, shard); }, [&] { return task.evaluate(); });
  if (settings.restore_best) {
    if (!run.out_dir.empty()) {
      load_model_weights((fs::path(run.out_dir) / "model.safetensors").string(), model);
    } else {
      best.restore();
    }
    model.eval();
  }
  return trained;
}

void record_test_metrics(const RunOptions& run, int64_t best_step, const Metrics& metrics) {
  if (!distributed::world().is_root()) return;  // under mpirun, rank 0 writes
  if (!run.tensorboard_dir.empty()) {
    io::TensorBoardWriter tensorboard(run.tensorboard_dir);
    for (const auto& [name, value] : metrics) tensorboard.add_scalar("eval/test_" + name, value, best_step);
  }
  if (run.out_dir.empty()) return;
  nlohmann::ordered_json line;
  line["step"] = best_step;
  for (const auto& [name, value] : metrics) line["test_" + name] = value;
  const fs::path path = fs::path(run.out_dir) / "metrics.jsonl";
  std::ofstream file(path, std::ios::app);
  file << line.dump() << "\n";
  file.flush();
  ATTEND_CHECK(file.good(), io::IoError, "cannot append the test metrics to '{}'", path.string());
}

}  // namespace attend::train
