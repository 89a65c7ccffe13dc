// The training loop shared by every recipe: steps, evaluation on a held-out split, a progress
// line, metrics appended to OUT/metrics.jsonl, the best model kept, and resumable checkpoints.
//
//   for step in [start, steps):
//     lr = schedule(step);  loss = batch_loss(step);  zero_grad;  loss.backward()
//     clip_grad_norm(clip_norm);  optimizer.step()
//     every eval_every steps and at the end: metrics = evaluate(); keep the best; save
//
// Files in OUT (all written atomically: temp file, fsync, rename):
//   metrics.jsonl           one JSON object per evaluation: step, loss, learning_rate,
//                           train_seconds, items_per_second, then the recipe's metrics
//   model.safetensors       the model at the best evaluation (by best_metric), or the last one
//   checkpoint.safetensors  everything needed to resume: parameters, optimizer state, the
//                           states of the model's random streams, and the loop's counters
//   snapshots/model-<step>.safetensors   with keep_snapshots: the model at every evaluation
//
// Resuming: recipes draw batch `step` as a pure function of (seed, step), so a run resumed from
// checkpoint.safetensors continues bitwise identically to one that was never interrupted.
//
// Data parallelism (docs/distributed.md): with `shards` S > 1 the global batch of a step is cut
// into S shards whose gradients are computed one by one and summed in shard order; under an MPI
// launcher (distributed::world()) rank r of R computes shards r S/R .. (r + 1) S/R - 1 and the
// ranks gather each other's. The trained weights are bitwise the same for any R dividing S.
// Rank 0 alone writes files and prints; every rank evaluates (the same model, the same
// numbers), so that all of them take the same decisions. The
// time limit (and a schedule by time) counts the whole run: a resumed run starts with the
// wall-clock time of the runs it continues, up to their last checkpoint, already spent.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attend/core/tensor.h"
#include "attend/distributed/communicator.h"
#include "attend/io/safetensors.h"
#include "attend/nn/module.h"
#include "attend/train/optimizer.h"

namespace attend::train {

using Metrics = std::vector<std::pair<std::string, double>>;

// What a user sets about a run, whatever the task: where it writes, whether it resumes, when it
// stops early. The task options (g2p_training.h, fashion_mnist_training.h) and TrainerOptions all
// start with it, so that a task hands it to the Trainer in one assignment.
struct RunOptions {
  std::string out_dir;      // empty: nothing written
  bool overwrite = false;   // replace OUT's files from an earlier run
  std::string resume_from;  // a checkpoint.safetensors written by a Trainer
  // At every evaluation also OUT/snapshots/model-<step>.safetensors (the model, as model.safetensors
  // holds it), to average the last few afterwards (train/checkpoint_average.h, attend average).
  bool keep_snapshots = false;
  // Stop (evaluate, save) once the run's wall-clock time exceeds it, evaluations included and, in a
  // resumed run, the time of the runs it continues up to their last checkpoint; 0: none.
  // Resuming a run that has used its time limit is a ValueError.
  double time_limit_seconds = 0;
  // With time_limit_seconds: the schedule is evaluated at train/lr_schedule.h's
  // time_scheduled_step, so that a schedule ending at `steps` ends at the time limit instead
  // when that comes first (not reproducible bit for bit: the rates depend on the clock).
  bool schedule_by_time = false;
  io::Metadata metadata;        // describes the model; stored in every file (keys must not start with "trainer.")
  bool quiet = false;           // no progress line and no evaluation lines
  std::string tensorboard_dir;  // event files (io/tensorboard.h): train/loss, train/learning_rate and
                                // train/items_per_second every 50 steps, eval/<metric> at evaluations
  // Gradient shards of a step's batch (data parallelism, above); 1: the whole batch at once, as
  // a single process always did. Must divide the batch and be a multiple of the number of ranks.
  int64_t shards = 1;
  // Early stopping: stop (the best model kept) after this many evaluations in a row that did not
  // improve the task's best metric; 0: never. Needs TrainerOptions::best_metric. Resuming
  // continues the count.
  int64_t patience = 0;
};

// RunOptions, plus what the task decides.
struct TrainerOptions : RunOptions {
  int64_t steps = 1000;              // optimizer steps in all (a resumed run counts the earlier ones)
  int64_t eval_every = 0;            // steps between evaluations; 0: only at the end
  double clip_norm = 0;              // global gradient norm bound; 0: no clipping
  std::string best_metric;           // e.g. "dev_wer"; empty: model.safetensors is the last model
  bool higher_is_better = false;     // for best_metric
  std::string items_name = "items";  // what batch_loss counts, e.g. "tok" or "img" (progress line)
  int64_t tensorboard_every = 50;
  // The group of processes; null: distributed::world() (a single process unless an MPI
  // launcher started this one).
  distributed::Communicator* communicator = nullptr;
  // What the ranks must agree on besides the model and the options (e.g. the training data's
  // size and a hash of it): compared at the start, a ValueError when a rank differs.
  std::string data_fingerprint;
};

// Which part of a step's global batch to build: shard `index` of `count` parts. Either
// contiguous rows, for items that cost alike (images), or items dealt by cost, for items of
// different lengths, so that every shard (and so every rank) has about the same work and pads
// little. Both depend on the batch only, never on the number of ranks.
struct Shard {
  int64_t index = 0, count = 1;
  // Rows [begin, end) of a batch of `batch` items.
  std::pair<int64_t, int64_t> rows(int64_t batch) const { return {index * batch / count, (index + 1) * batch / count}; }
  // The positions (ascending) of this shard's items among a batch's, whose costs (e.g. lengths)
  // are given: the items sorted by cost, largest first (ties by position), the i-th dealt to
  // shard i mod count.
  std::vector<int64_t> dealt(const std::vector<int64_t>& costs) const;
};

// A picture for TensorBoard made at an evaluation (e.g. an attention heatmap), as a PNG file.
struct EvalImage {
  std::string tag;
  std::vector<uint8_t> png;
  int64_t height = 0, width = 0, channels = 4;
};
// An EvalImage of a PNG file's bytes, its size read from the PNG header; ValueError if not a PNG.
EvalImage eval_image_from_png(std::string tag, const std::string& png);

// One step's loss (a scalar that requires grad) and how many items (tokens, images) it covers.
struct BatchLoss {
  Tensor<float> loss;
  int64_t items = 0;
};

struct TrainerResult {
  int64_t steps = 0;            // the step reached (including resumed steps)
  double train_seconds = 0;     // forward, backward and optimizer time, evaluations excluded
  double items_per_second = 0;  // over train_seconds of this process
  Metrics last;                 // the last evaluation
  Metrics best;                 // the best evaluation (== last without best_metric)
  int64_t best_step = 0;
  bool resumed = false;
  bool stopped_early = false;  // by patience
};

class Trainer {
 public:
  // Validates the options; refuses (ValueError) to start a fresh run into an OUT that already
  // holds a model or checkpoint unless overwrite, before any training.
  Trainer(nn::Module<float>& model, Optimizer<float>& optimizer, TrainerOptions options);

  // Images logged to TensorBoard at each evaluation (model in evaluation mode).
  void set_eval_images(std::function<std::vector<EvalImage>()> images) { eval_images_ = std::move(images); }

  // Learning rate for a 0-based step (default: the optimizer's own, constant).
  void set_schedule(std::function<double(int64_t step)> schedule) { schedule_ = std::move(schedule); }

  // Called (model in evaluation mode) after an evaluation that is the best so far by best_metric
  // (every evaluation without one), on every rank: e.g. to keep the weights of a run that writes
  // no files.
  void set_on_best(std::function<void()> on_best) { on_best_ = std::move(on_best); }

  // batch_loss(step) builds batch `step` and returns its loss in training mode; evaluate() runs in
  // evaluation mode and returns named metrics (best_metric among them).
  TrainerResult run(const std::function<BatchLoss(int64_t step)>& batch_loss, const std::function<Metrics()>& evaluate);
  // The same with gradient shards: batch_loss(step, shard) builds that shard of batch `step`.
  using ShardedBatchLoss = std::function<BatchLoss(int64_t step, const Shard& shard)>;
  TrainerResult run(const ShardedBatchLoss& batch_loss, const std::function<Metrics()>& evaluate);

 private:
  // The phases of run(): begin (resume, agree, open the sinks: metrics.jsonl, TensorBoard, the
  // progress line), a step, an evaluation (keep the best, tell the sinks, persist the files),
  // finish.
  struct RunState;
  RunState begin_run();
  void train_step(RunState& run, const ShardedBatchLoss& batch_loss);
  void evaluate(RunState& run, int64_t done, const std::function<Metrics()>& evaluate);
  bool keep_best(const Metrics& metrics, int64_t done);
  void persist(const RunState& run, int64_t done, const Metrics& metrics, bool improved) const;
  TrainerResult finish_run(RunState& run);
  double shared_run_seconds(const RunState& run) const;
  double items_per_second(const RunState& run) const;

  // model_only: parameters and metadata; else also the optimizer, the random streams and the
  // loop's counters, among them `train_seconds` of training and `elapsed_seconds` of wall-clock
  // time so far (trainer.train_seconds, trainer.elapsed_seconds). Every file records the
  // evaluation it was written at (trainer.metrics.<name>) and the best one (trainer.best.<name>).
  void save_checkpoint(const std::string& path, int64_t step, bool model_only, const Metrics& metrics,
                       double train_seconds, double elapsed_seconds) const;
  // Reads and checks everything (metadata, the step against `steps`, the time used against the
  // limit, tensors) before it changes the model, the optimizer or the random streams.
  int64_t load_checkpoint(const std::string& path);  // returns the step to continue from

  nn::Module<float>& model_;
  Optimizer<float>& optimizer_;
  TrainerOptions options_;
  std::function<double(int64_t)> schedule_;
  std::function<std::vector<EvalImage>()> eval_images_;
  std::function<void()> on_best_;
  // Loop state that a checkpoint carries.
  double running_loss_ = 0;
  double best_value_ = 0;
  int64_t best_step_ = 0;
  int64_t evaluations_without_improvement_ = 0;  // for patience
  double train_seconds_before_ = 0;              // training time of the runs this one resumes
  double elapsed_seconds_before_ = 0;            // their wall-clock time, evaluations included
  Metrics best_;
  distributed::Communicator& communicator_;
};

// What the Trainer adds to its files' metadata besides the model's: keys "trainer.<counter>". Its
// tensors besides the parameters are "optimizer.<state>" and "rng.<random stream>"
// (io::is_training_state).
bool is_trainer_metadata(std::string_view key);

// For a task whose batches split into shards: ValueError unless shards >= 1 divides batch_size.
// Adds "train.shards" to `metadata` when shards > 1 (a resumed run must keep them).
void check_batch_shards(int64_t batch_size, int64_t shards, const std::string& task, io::Metadata& metadata);

// The value of metric `name` in `metrics`, or nullptr when there is none.
const double* find_metric(const Metrics& metrics, const std::string& name);

// OUT/checkpoint.safetensors of the run in out_dir, for --resume; ValueError when out_dir is empty
// or holds no checkpoint.
std::string checkpoint_to_resume(const std::string& out_dir);

// Reads back a checkpoint's model parameters into `model` (for evaluation or inference); returns
// the file's metadata. Errors name the file and what is wrong with it, a tensor that is neither a
// parameter nor training state among them.
io::Metadata load_model_weights(const std::string& path, nn::Module<float>& model);

}  // namespace attend::train
