// The one training recipe every task runs (g2p_training.h, fashion_mnist_training.h,
// text_classification.h): a task says how to build a batch and its loss, how to evaluate and what
// its run must keep alike when resumed; the recipe does the rest, the same way for every task:
//
//   Trainer(model, optimizer, run options + the task's settings)     trainer.h
//   trainer.run(task.batch_loss, task.evaluate)                      steps, evaluations, files
//   with restore_best: the best evaluation's weights back in the model (OUT/model.safetensors, or
//     kept in memory when nothing is written)
//
// and after it, record_test_metrics puts the best model's test figures where the run's others
// are. A new task is a TrainingTask and a call of run_recipe, in a file of its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attend/io/safetensors.h"
#include "attend/nn/module.h"
#include "attend/train/lr_schedule.h"
#include "attend/train/optimizer.h"
#include "attend/train/trainer.h"

namespace attend::train {

class TrainingTask {
 public:
  virtual ~TrainingTask() = default;
  // Step `step`'s batch, or shard `shard` of it, and its loss (training mode). A pure function of
  // the step, so that a resumed run continues bit for bit.
  virtual BatchLoss batch_loss(int64_t step, const Shard& shard) = 0;
  // Named metrics on held-out data (evaluation mode; every rank calls it), the recipe's
  // best_metric among them.
  virtual Metrics evaluate() = 0;
  // Pictures for TensorBoard at each evaluation; none by default.
  virtual bool has_eval_images() const { return false; }
  virtual std::vector<EvalImage> eval_images() { return {}; }
};

// What a task decides about its run, beside the user's RunOptions.
struct RecipeSettings {
  std::string task;  // e.g. "train g2p", for messages
  int64_t steps = 1;
  int64_t eval_every = 0;  // 0: only at the end
  double clip_norm = 0;
  std::string best_metric;  // e.g. "dev_wer"
  bool higher_is_better = false;
  std::string items_name = "items";  // what batch_loss counts, for the progress line
  int64_t batch_size = 1;            // must divide into RunOptions::shards
  // > 0: the training set's size, whose last (shorter) batch must still fill every shard.
  int64_t training_items = 0;
  std::string items_noun;        // "images", "texts": for that message
  io::Metadata settings;         // "train.*": what a resumed run must share with the run it continues
  std::string data_fingerprint;  // what every rank must agree on (trainer.h)
  bool restore_best = false;     // end with the best evaluation's weights in the model
};

// The "train.*" settings every task's resumed run must share with the run it continues; a task
// adds its own (schedule, augmentation, ...).
io::Metadata shared_settings(int64_t batch_size, uint64_t seed, double learning_rate, int64_t warmup_steps,
                             double weight_decay, double clip_norm);

// Runs `task` on `model`; returns the Trainer's result. With restore_best and a resume, resume_from
// must be OUT's own checkpoint (the best model is read back from OUT).
TrainerResult run_recipe(nn::Module<float>& model, Optimizer<float>& optimizer, const LearningRateSchedule& schedule,
                         const RunOptions& run, RecipeSettings settings, TrainingTask& task);

// The best model's test figures, where the run's other figures are (rank 0): a line
// {"step": best_step, "test_<name>": value, ...} appended to OUT/metrics.jsonl (at the best
// model's step, so that `attend plot` draws them where they were measured) and
// eval/test_<name> in TensorBoard. `metrics` are named without the "test_" prefix.
void record_test_metrics(const RunOptions& run, int64_t best_step, const Metrics& metrics);

}  // namespace attend::train
