#include "attend/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <signal.h>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attend/core/error.h"
#include "attend/io/atomic_file.h"
#include "attend/io/png_header.h"
#include "attend/io/tensor_table.h"
#include "attend/train/lr_schedule.h"
#include "data_parallel.h"
#include "train/run_sinks.h"

namespace attend::train {
namespace {

namespace fs = std::filesystem;

constexpr const char* kModelFile = "model.safetensors";
constexpr const char* kCheckpointFile = "checkpoint.safetensors";
constexpr const char* kMetricsFile = "metrics.jsonl";
constexpr const char* kSnapshotDirectory = "snapshots";

// Doubles travel in metadata as hexadecimal floating point ("0x1.8p+1"): exact, so a resumed
// run's counters are bitwise those of the interrupted one.
std::string exact(double value) { return fmt::format("{:a}", value); }

double parse_exact(const io::Metadata& metadata, const std::string& key, const std::string& path) {
  const auto found = metadata.find(key);
  ATTEND_CHECK(found != metadata.end(), ValueError, "'{}' is not a training checkpoint: its metadata has no '{}'", path,
               key);
  char* end = nullptr;
  const double value = std::strtod(found->second.c_str(), &end);
  ATTEND_CHECK(!found->second.empty() && end == found->second.c_str() + found->second.size(), ValueError,
               "'{}': metadata '{}' = '{}' is not a number", path, key, found->second);
  return value;
}

int64_t parse_count(const io::Metadata& metadata, const std::string& key, const std::string& path) {
  const double value = parse_exact(metadata, key, path);
  ATTEND_CHECK(value >= 0 && value <= 9.0e15 && value == std::floor(value), ValueError,
               "'{}': metadata '{}' = {} is not a non-negative integer", path, key, value);
  return static_cast<int64_t>(value);
}

// Removes what a killed run left of its atomic writes in `directory`: ".NAME.tmp-PID-N" files
// (io/atomic_file.cc) of this run's files, each a whole checkpoint, whose writer PID is gone. A
// live writer's temporary (another process on the same --out) is left alone.
void remove_stale_temporaries(const fs::path& directory) {
  std::error_code error;
  if (!fs::is_directory(directory, error)) return;
  for (const fs::directory_entry& entry : fs::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    const size_t marker = name.rfind(".tmp-");
    if (name.empty() || name[0] != '.' || marker == std::string::npos || !entry.is_regular_file(error)) continue;
    const std::string target = name.substr(1, marker - 1);
    const bool ours = target == kModelFile || target == kCheckpointFile ||
                      (target.rfind("model-", 0) == 0 && target.size() > 12 &&
                       target.compare(target.size() - 12, 12, ".safetensors") == 0);
    const long pid = std::strtol(name.c_str() + marker + 5, nullptr, 10);
    const bool writer_gone = pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
    if (ours && writer_gone) fs::remove(entry.path(), error);
  }
}

// On resume: metrics.jsonl loses its lines past the checkpoint's step (written after the last
// checkpoint and before the kill; the resumed run writes those steps again) and a line torn by
// the kill. Rewritten atomically; returns how many lines were dropped.
int64_t truncate_metrics_after(const fs::path& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return 0;
  std::string kept;
  int64_t dropped = 0;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const bool keep = parsed.is_object() && parsed.contains("step") && parsed["step"].is_number_integer() &&
                      parsed["step"].get<int64_t>() <= step;
    if (keep) {
      kept += line + "\n";
    } else {
      ++dropped;
    }
  }
  if (dropped > 0) {
    io::AtomicFile file(path.string(), /*overwrite=*/true);
    file.write(kept.data(), kept.size());
    file.commit();
  }
  return dropped;
}

// OUT/snapshots, created before training so that a problem shows at once. A fresh run (over an
// earlier one, with --overwrite) removes the earlier run's snapshots, which must not be averaged
// with its own. A symlink there is refused rather than followed.
void prepare_snapshot_directory(const fs::path& snapshots, bool fresh_run) {
  std::error_code error;
  ATTEND_CHECK(!fs::is_symlink(fs::symlink_status(snapshots, error)), io::IoError,
               "'{}' is a symbolic link; snapshots are written into a directory of the run's own", snapshots.string());
  fs::create_directories(snapshots, error);
  ATTEND_CHECK(!error && fs::is_directory(snapshots), io::IoError, "cannot create the snapshot directory '{}': {}",
               snapshots.string(), error ? error.message() : "a file of that name is in the way");
  if (!fresh_run) return;
  std::vector<fs::path> earlier;
  for (const auto& entry : fs::directory_iterator(snapshots, error)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("model-") && name.ends_with(".safetensors")) earlier.push_back(entry.path());
  }
  for (const fs::path& file : earlier) {
    ATTEND_CHECK(fs::remove(file, error) || !error, io::IoError, "cannot remove the earlier run's '{}': {}",
                 file.string(), error.message());
  }
}

// The element of `tensor` at a row-major `index`.
float value_at(const Tensor<float>& tensor, const Shape& index) {
  int64_t offset = 0;
  for (size_t axis = 0; axis < index.size(); ++axis) {
    offset = offset * tensor.size(static_cast<int64_t>(axis)) + index[axis];
  }
  return tensor.contiguous().data()[offset];
}

// The optimizer state and random streams of a training checkpoint, checked but not yet applied.
struct TrainingState {
  NamedTensors<float> optimizer;  // names without "optimizer."
  std::vector<std::pair<Generator*, Generator::State>> generators;
};

Tensor<float> optimizer_tensor(const std::string& path, const std::string& name, const io::AnyTensor& any) {
  const auto* tensor = std::get_if<Tensor<float>>(&any);
  ATTEND_CHECK(tensor != nullptr, ValueError, "'{}': optimizer state '{}' is not F32", path, name);
  // A NaN in a moment estimate would turn every later update of its parameter into NaN.
  if (const std::optional<Shape> bad = io::first_non_finite(any)) {
    fail<ValueError>("'{}': optimizer state '{}' holds {} at index {} (its first value that is not finite)", path, name,
                     value_at(*tensor, *bad), shape_string(*bad));
  }
  return *tensor;
}

Generator::State generator_state(const std::string& path, const std::string& name, const io::AnyTensor& any) {
  const auto* tensor = std::get_if<Tensor<int64_t>>(&any);
  ATTEND_CHECK(tensor != nullptr && tensor->shape() == Shape{Generator::kStateWords}, ValueError,
               "'{}': random stream state '{}' must be I64 of shape [{}]", path, name, Generator::kStateWords);
  Generator::State state;
  std::memcpy(state.data(), tensor->contiguous().data(), sizeof state);
  return state;
}

// The file's tensors that are not parameters of `model`: optimizer state, finite, and the state of
// every random stream of `model`, of none other; anything else is an error.
TrainingState read_training_state(const io::SafetensorsFile& file, const nn::Module<float>& model) {
  const std::string& path = file.path();
  std::set<std::string> parameters;
  for (const auto& [name, parameter] : model.named_parameters()) parameters.insert(name);
  std::map<std::string, Generator*> generators;
  for (const auto& [name, generator] : model.named_generators()) generators.emplace(name, generator);
  TrainingState state;
  for (const auto& [name, any] : file.tensors()) {
    if (parameters.count(name) != 0) continue;
    if (name.starts_with(io::kOptimizerStatePrefix)) {
      state.optimizer.emplace_back(name.substr(io::kOptimizerStatePrefix.size()), optimizer_tensor(path, name, any));
      continue;
    }
    ATTEND_CHECK(name.starts_with(io::kRandomStreamPrefix), ValueError,
                 "'{}': unexpected tensor '{}' in a training checkpoint", path, name);
    const std::string generator_name = name.substr(io::kRandomStreamPrefix.size());
    const auto target = generators.find(generator_name);
    ATTEND_CHECK(target != generators.end(), ValueError, "'{}': random stream '{}' is not part of this model", path,
                 generator_name);
    state.generators.emplace_back(target->second, generator_state(path, name, any));
    generators.erase(target);
  }
  ATTEND_CHECK(generators.empty(), ValueError, "'{}': the state of random stream '{}' is missing", path,
               generators.empty() ? "" : generators.begin()->first);
  return state;
}

bool is_better(double candidate, double best, bool higher_is_better) {
  return higher_is_better ? candidate > best : candidate < best;
}

}  // namespace

Trainer::Trainer(nn::Module<float>& model, Optimizer<float>& optimizer, TrainerOptions options)
    : model_(model),
      optimizer_(optimizer),
      options_(std::move(options)),
      communicator_(options_.communicator ? *options_.communicator : distributed::world()) {
  const TrainerOptions& o = options_;
  ATTEND_CHECK(o.steps >= 1, ValueError, "Trainer: steps must be >= 1, got {}", o.steps);
  ATTEND_CHECK(o.shards >= 1, ValueError, "Trainer: shards must be >= 1, got {}", o.shards);
  ATTEND_CHECK(o.shards % communicator_.size() == 0, ValueError,
               "Trainer: the {} gradient shards of a step do not divide among {} ranks (--shards must be a multiple "
               "of the number of processes)",
               o.shards, communicator_.size());
  ATTEND_CHECK(o.eval_every >= 0, ValueError, "Trainer: eval_every must be >= 0, got {}", o.eval_every);
  ATTEND_CHECK(o.time_limit_seconds >= 0 && o.clip_norm >= 0, ValueError,
               "Trainer: time limit ({}) and clip norm ({}) must be >= 0", o.time_limit_seconds, o.clip_norm);
  ATTEND_CHECK(o.patience >= 0, ValueError, "Trainer: patience must be >= 0, got {}", o.patience);
  ATTEND_CHECK(o.patience == 0 || !o.best_metric.empty(), ValueError,
               "Trainer: patience (early stopping) needs a metric to watch (best_metric)");
  ATTEND_CHECK(!o.schedule_by_time || o.time_limit_seconds > 0, ValueError,
               "Trainer: a schedule by time needs a time limit (--time-limit)");
  for (const auto& [key, value] : o.metadata) {
    ATTEND_CHECK(!is_trainer_metadata(key), ValueError, "Trainer: metadata key '{}' is reserved", key);
  }
  if (!o.out_dir.empty() && o.resume_from.empty() && !o.overwrite) {
    for (const char* file : {kModelFile, kCheckpointFile, kMetricsFile, kSnapshotDirectory}) {
      const fs::path existing = fs::path(o.out_dir) / file;
      ATTEND_CHECK(!fs::exists(existing), ValueError,
                   "'{}' exists from an earlier run; pass --overwrite to replace it, --resume to continue it, or "
                   "choose another --out",
                   existing.string());
    }
  }
  best_value_ = o.higher_is_better ? -INFINITY : INFINITY;
}

void Trainer::save_checkpoint(const std::string& path, int64_t step, bool model_only, const Metrics& metrics,
                              double train_seconds, double elapsed_seconds) const {
  io::Metadata metadata = options_.metadata;
  metadata["trainer.step"] = std::to_string(step);
  for (const auto& [name, value] : metrics) metadata["trainer.metrics." + name] = fmt::format("{:.6g}", value);
  for (const auto& [name, value] : best_) metadata["trainer.best." + name] = fmt::format("{:.6g}", value);
  io::NamedTensors extra;
  if (!model_only) {
    metadata["trainer.running_loss"] = exact(running_loss_);
    metadata["trainer.best_value"] = exact(best_value_);
    metadata["trainer.best_step"] = std::to_string(best_step_);
    metadata["trainer.evaluations_without_improvement"] = std::to_string(evaluations_without_improvement_);
    metadata["trainer.train_seconds"] = exact(train_seconds);
    metadata["trainer.elapsed_seconds"] = exact(elapsed_seconds);
    for (const auto& [name, tensor] : optimizer_.state()) {
      extra.emplace_back(std::string(io::kOptimizerStatePrefix) + name, tensor);
    }
    for (const auto& [name, generator] : model_.named_generators()) {
      const Generator::State state = generator->state();
      Tensor<int64_t> words = Tensor<int64_t>::empty({Generator::kStateWords});
      std::memcpy(words.data(), state.data(), sizeof state);  // uint64 bits stored as I64
      extra.emplace_back(std::string(io::kRandomStreamPrefix) + name, words);
    }
  }
  io::save_module(path, model_, extra, metadata, /*overwrite=*/true);
}

int64_t Trainer::load_checkpoint(const std::string& path) {
  ATTEND_CHECK(fs::exists(path), ValueError, "cannot resume: '{}' does not exist", path);
  // What the metadata can refuse is checked before anything changes.
  const io::SafetensorsFile file = io::load_safetensors(path);
  const io::Metadata& metadata = file.metadata();
  for (const auto& [key, value] : options_.metadata) {
    const auto found = metadata.find(key);
    ATTEND_CHECK(found != metadata.end() && found->second == value, ValueError,
                 "cannot resume from '{}': it was trained with {} = '{}', this run has '{}'", path, key,
                 found == metadata.end() ? "(none)" : found->second, value);
  }
  const int64_t step = parse_count(metadata, "trainer.step", path);
  ATTEND_CHECK(step < options_.steps, ValueError, "'{}' is at step {}; ask for more --steps than that to continue",
               path, step);
  const double running_loss = parse_exact(metadata, "trainer.running_loss", path);
  const double best_value = parse_exact(metadata, "trainer.best_value", path);
  const int64_t best_step = parse_count(metadata, "trainer.best_step", path);
  // Checkpoints written before early stopping existed: no evaluation has been counted.
  const int64_t stale = metadata.count("trainer.evaluations_without_improvement") != 0
                            ? parse_count(metadata, "trainer.evaluations_without_improvement", path)
                            : 0;
  const double train_seconds = parse_exact(metadata, "trainer.train_seconds", path);
  // Checkpoints written before the wall clock was recorded: their training time is the best guess.
  const double elapsed_seconds = metadata.count("trainer.elapsed_seconds") != 0
                                     ? parse_exact(metadata, "trainer.elapsed_seconds", path)
                                     : train_seconds;
  ATTEND_CHECK(
      std::isfinite(train_seconds) && train_seconds >= 0 && std::isfinite(elapsed_seconds) && elapsed_seconds >= 0,
      ValueError, "'{}': the recorded times ({} s training, {} s in all) must be finite and >= 0", path, train_seconds,
      elapsed_seconds);
  const double limit = options_.time_limit_seconds;
  ATTEND_CHECK(limit == 0 || elapsed_seconds < limit, ValueError,
               "'{}' has used {:.1f} s of the time limit ({} s); give a larger --time-limit to continue", path,
               elapsed_seconds, limit);

  // Everything is checked before anything changes: the training state first, then every
  // parameter (load_module copies them only when all of them match).
  const TrainingState state = read_training_state(file, model_);
  io::load_module(file, model_, io::UnexpectedTensors::kReturn);
  running_loss_ = running_loss;
  best_value_ = best_value;
  best_step_ = best_step;
  evaluations_without_improvement_ = stale;
  train_seconds_before_ = train_seconds;
  elapsed_seconds_before_ = elapsed_seconds;
  best_.clear();
  for (const auto& [key, value] : metadata) {
    if (key.rfind("trainer.best.", 0) == 0) best_.emplace_back(key.substr(13), std::strtod(value.c_str(), nullptr));
  }
  optimizer_.load_state(state.optimizer);
  for (const auto& [generator, words] : state.generators) generator->set_state(words);
  return step;
}

TrainerResult Trainer::run(const std::function<BatchLoss(int64_t step)>& batch_loss,
                           const std::function<Metrics()>& evaluate) {
  ATTEND_CHECK(options_.shards == 1 && communicator_.size() == 1, ValueError,
               "Trainer: this task builds whole batches only; run it as one process without shards");
  return run([&](int64_t step, const Shard&) { return batch_loss(step); }, evaluate);
}

// One run's state beside the counters a checkpoint carries (the Trainer's members): the options
// as this rank applies them, the sinks, the clocks and the counts.
struct Trainer::RunState {
  TrainerOptions options;  // rank 0's own; other ranks write nothing and print nothing
  bool sharded = false;
  TrainerResult result;
  int64_t step = 0;  // the next step to run
  std::vector<std::unique_ptr<RunSink>> sinks;
  bool wants_images = false;  // a sink shows evaluation images (TensorBoard)
  std::chrono::steady_clock::time_point start;
  double train_seconds = 0;                  // this run's, evaluations excluded
  int64_t items = 0;                         // this run's
  std::vector<double> exchange_times{0, 0};  // this rank's seconds waiting for the slowest, and exchanging
  ShardWorkspace shard_workspace;

  // Wall-clock time of the whole run, earlier runs it resumes included: what the time limit and
  // a schedule by time count.
  double run_seconds(double before) const { return before + seconds_since(start); }
};

// Resume: the checkpoint read back, the ranks agreed, OUT prepared and the sinks opened.
Trainer::RunState Trainer::begin_run() {
  RunState r;
  r.options = options_;
  if (!communicator_.is_root()) {  // rank 0 alone writes and prints
    r.options.out_dir.clear();
    r.options.tensorboard_dir.clear();
    r.options.quiet = true;
  }
  const TrainerOptions& o = r.options;
  r.sharded = o.shards > 1 || communicator_.size() > 1;
  if (!o.resume_from.empty()) {
    r.step = load_checkpoint(o.resume_from);
    r.result.resumed = true;
    if (!o.quiet) fmt::print(stderr, "resuming from '{}' at step {}\n", o.resume_from, r.step);
  }
  if (communicator_.size() > 1) {
    std::string description = fmt::format("steps {} shards {} optimizer {} lr {} data {}", o.steps, o.shards,
                                          optimizer_.name(), optimizer_.learning_rate(), o.data_fingerprint);
    for (const auto& [key, value] : o.metadata) description += "\n" + key + "=" + value;
    synchronize_start(communicator_, optimizer_, description, r.step);
    if (!o.quiet)
      fmt::print(stderr, "training on {}, {} gradient shards a step\n", communicator_.description(), o.shards);
  }
  if (!o.out_dir.empty()) {
    fs::create_directories(o.out_dir);
    remove_stale_temporaries(o.out_dir);
    remove_stale_temporaries(fs::path(o.out_dir) / kSnapshotDirectory);
    if (r.result.resumed) {
      const int64_t dropped = truncate_metrics_after(fs::path(o.out_dir) / kMetricsFile, r.step);
      if (dropped > 0 && !o.quiet) {
        fmt::print(stderr, "dropped {} line(s) of {} past step {}: the resumed run writes them again\n", dropped,
                   kMetricsFile, r.step);
      }
    }
    if (o.keep_snapshots) prepare_snapshot_directory(fs::path(o.out_dir) / kSnapshotDirectory, !r.result.resumed);
    r.sinks.push_back(metrics_file_sink((fs::path(o.out_dir) / kMetricsFile).string(), r.result.resumed));
  }
  if (!o.tensorboard_dir.empty()) {
    r.sinks.push_back(tensorboard_sink(o.tensorboard_dir, o.tensorboard_every));
    r.wants_images = static_cast<bool>(eval_images_);
  }
  if (!o.quiet) {
    const double time_left = o.time_limit_seconds > 0 ? o.time_limit_seconds - elapsed_seconds_before_ : -1;
    r.sinks.push_back(progress_sink(o.steps, r.step, time_left, o.items_name));
  }
  r.start = std::chrono::steady_clock::now();
  return r;
}

// Rank 0's clock for what every rank must decide alike (a schedule by time, the time limit).
double Trainer::shared_run_seconds(const RunState& r) const {
  std::vector<double> seconds = {r.run_seconds(elapsed_seconds_before_)};
  if (communicator_.size() > 1) communicator_.broadcast(seconds);
  return seconds[0];
}

// Step r.step: the learning rate, the batch's loss and gradients (or the shards'), clipping and
// the update; then the running loss, and the sinks told.
void Trainer::train_step(RunState& r, const ShardedBatchLoss& batch_loss) {
  const TrainerOptions& o = r.options;
  const int64_t step = r.step;
  if (schedule_) {
    optimizer_.set_learning_rate(schedule_(
        o.schedule_by_time ? time_scheduled_step(step, o.steps, shared_run_seconds(r), o.time_limit_seconds) : step));
  }
  const auto step_start = std::chrono::steady_clock::now();
  double loss = 0;
  int64_t batch_items = 0;
  if (r.sharded) {  // backward, clipping and the update, split among the ranks
    const ShardedLoss shards =
        sharded_step(communicator_, model_, optimizer_, o.shards, step, batch_loss, o.clip_norm, r.shard_workspace);
    r.exchange_times[0] += shards.wait_seconds;
    r.exchange_times[1] += shards.exchange_seconds;
    loss = shards.loss;
    batch_items = shards.items;
  } else {
    const BatchLoss batch = batch_loss(step, Shard{});
    ATTEND_CHECK(batch.loss.defined() && batch.loss.numel() == 1, ValueError,
                 "Trainer: batch_loss must return a scalar loss");
    loss = batch.loss.item();
    batch_items = batch.items;
    optimizer_.zero_grad();
    batch.loss.backward();
    if (o.clip_norm > 0) clip_grad_norm(optimizer_.parameters(), o.clip_norm);
    optimizer_.step();
  }
  r.train_seconds += seconds_since(step_start);
  r.items += batch_items;
  running_loss_ = step == 0 ? loss : 0.98 * running_loss_ + 0.02 * loss;
  const StepRecord record{step + 1, running_loss_,       optimizer_.learning_rate(),
                          r.items,  items_per_second(r), step + 1 == o.steps};
  for (const auto& sink : r.sinks) sink->step(record);
}

double Trainer::items_per_second(const RunState& r) const {
  return r.train_seconds > 0 ? static_cast<double>(r.items) / r.train_seconds : 0.0;
}

// The evaluation after step `done`: metrics in evaluation mode, the best kept, the sinks told,
// the files written.
void Trainer::evaluate(RunState& r, int64_t done, const std::function<Metrics()>& evaluate) {
  const TrainerOptions& o = r.options;
  const auto eval_start = std::chrono::steady_clock::now();
  model_.eval();
  const Metrics metrics = evaluate();
  const std::vector<EvalImage> images = r.wants_images ? eval_images_() : std::vector<EvalImage>{};
  const bool improved = keep_best(metrics, done);
  if (improved && on_best_) on_best_();
  model_.train();
  r.result.last = metrics;
  EvaluationRecord record;
  record.step = done;
  record.running_loss = running_loss_;
  record.learning_rate = optimizer_.learning_rate();
  record.train_seconds = train_seconds_before_ + r.train_seconds;
  record.items_per_second = items_per_second(r);
  if (r.sharded) {  // every rank's waiting and exchanging so far
    const std::vector<double> all = communicator_.all_gather(r.exchange_times);  // (R, 2)
    for (size_t rank = 0; rank < all.size() / 2; ++rank) {
      record.wait_seconds.push_back(all[2 * rank]);
      record.exchange_seconds.push_back(all[2 * rank + 1]);
    }
    gather_optimizer_state(communicator_, optimizer_, r.shard_workspace);  // for the checkpoint
  }
  record.metrics = &metrics;
  record.images = &images;
  record.improved = improved;
  record.best_metric = o.best_metric;
  // The metrics line before the files: a run killed in between resumes from the previous
  // checkpoint and drops the line (truncate_metrics_after), never the other way round.
  for (const auto& sink : r.sinks) sink->evaluation(record);
  persist(r, done, metrics, improved);
  const double seconds = seconds_since(eval_start);
  for (const auto& sink : r.sinks) sink->evaluation_finished(seconds);
}

// Whether `metrics` (at step `done`) are the best so far by the best metric (always, without
// one); keeps them, and counts evaluations without improvement for patience.
bool Trainer::keep_best(const Metrics& metrics, int64_t done) {
  const TrainerOptions& o = options_;
  bool improved = o.best_metric.empty();
  if (!o.best_metric.empty()) {
    const double* value = find_metric(metrics, o.best_metric);
    ATTEND_CHECK(value != nullptr, ValueError, "Trainer: the evaluation returned no metric '{}'", o.best_metric);
    improved = is_better(*value, best_value_, o.higher_is_better) || best_step_ == 0;
    if (improved) best_value_ = *value;
  }
  if (improved) {
    best_ = metrics;
    best_step_ = done;
  }
  evaluations_without_improvement_ = improved ? 0 : evaluations_without_improvement_ + 1;
  return improved;
}

// OUT's files after the evaluation at `done`: the model when it improved and the snapshot, then
// the resumable state, so that a crash in between never leaves a checkpoint past a best model or
// a snapshot that is not on disk.
void Trainer::persist(const RunState& r, int64_t done, const Metrics& metrics, bool improved) const {
  const TrainerOptions& o = r.options;
  if (o.out_dir.empty()) return;
  const double train_seconds = train_seconds_before_ + r.train_seconds;
  const double elapsed = r.run_seconds(elapsed_seconds_before_);
  const fs::path out(o.out_dir);
  if (improved) save_checkpoint((out / kModelFile).string(), done, true, metrics, train_seconds, elapsed);
  if (o.keep_snapshots) {
    const std::string name = fmt::format("model-{:07}.safetensors", done);
    save_checkpoint((out / kSnapshotDirectory / name).string(), done, true, metrics, train_seconds, elapsed);
  }
  save_checkpoint((out / kCheckpointFile).string(), done, false, metrics, train_seconds, elapsed);
}

// Every rank's optimizer whole, the sinks closed, rank 0's files complete before any rank reads
// them (e.g. the best model), and the result.
TrainerResult Trainer::finish_run(RunState& r) {
  for (const auto& sink : r.sinks) sink->finish();
  if (r.sharded) gather_optimizer_state(communicator_, optimizer_, r.shard_workspace);
  communicator_.barrier();
  model_.eval();
  TrainerResult& result = r.result;
  result.steps = r.step;
  result.train_seconds = r.train_seconds;
  result.items_per_second = items_per_second(r);
  result.best = best_;
  result.best_step = best_step_;
  return result;
}

TrainerResult Trainer::run(const ShardedBatchLoss& batch_loss, const std::function<Metrics()>& evaluate_metrics) {
  RunState r = begin_run();
  const TrainerOptions& o = r.options;
  model_.train();
  while (r.step < o.steps) {
    train_step(r, batch_loss);
    const int64_t done = ++r.step;
    const bool last = done == o.steps;
    const bool out_of_time = o.time_limit_seconds > 0 && shared_run_seconds(r) > o.time_limit_seconds;
    if ((o.eval_every > 0 && done % o.eval_every == 0) || last || out_of_time) evaluate(r, done, evaluate_metrics);
    r.result.stopped_early = o.patience > 0 && evaluations_without_improvement_ >= o.patience && !last;
    if (r.result.stopped_early && !o.quiet) {
      fmt::print(stderr, "\nstopping early: {} evaluations without a better {} (best at step {})\n",
                 evaluations_without_improvement_, o.best_metric, best_step_);
    }
    if (out_of_time || r.result.stopped_early) break;
  }
  return finish_run(r);
}

EvalImage eval_image_from_png(std::string tag, const std::string& png) {
  const io::PngHeader header = io::parse_png_header(png, fmt::format("eval image '{}'", tag));
  EvalImage image;
  image.tag = std::move(tag);
  image.png.assign(png.begin(), png.end());
  image.width = header.width;
  image.height = header.height;
  const int colour_type = header.colour_type;
  image.channels = colour_type == 0 ? 1 : colour_type == 2 ? 3 : colour_type == 4 ? 2 : 4;
  return image;
}

std::vector<int64_t> Shard::dealt(const std::vector<int64_t>& costs) const {
  std::vector<int64_t> by_cost(costs.size());
  for (size_t i = 0; i < by_cost.size(); ++i) by_cost[i] = static_cast<int64_t>(i);
  std::stable_sort(by_cost.begin(), by_cost.end(), [&](int64_t a, int64_t b) { return costs[a] > costs[b]; });
  std::vector<int64_t> mine;
  for (size_t i = static_cast<size_t>(index); i < by_cost.size(); i += static_cast<size_t>(count)) {
    mine.push_back(by_cost[i]);
  }
  std::sort(mine.begin(), mine.end());
  return mine;
}

void check_batch_shards(int64_t batch_size, int64_t shards, const std::string& task, io::Metadata& metadata) {
  ATTEND_CHECK(shards >= 1 && batch_size % shards == 0, ValueError,
               "{}: --shards {} must be >= 1 and divide the batch size {} (each shard gets batch / shards items)", task,
               shards, batch_size);
  if (shards > 1) metadata["train.shards"] = std::to_string(shards);
}

bool is_trainer_metadata(std::string_view key) { return key.starts_with("trainer."); }

const double* find_metric(const Metrics& metrics, const std::string& name) {
  for (const auto& [key, value] : metrics) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::string checkpoint_to_resume(const std::string& out_dir) {
  ATTEND_CHECK(!out_dir.empty(), ValueError, "--resume continues the run in --out DIR; give --out");
  const std::string path = (fs::path(out_dir) / kCheckpointFile).string();
  ATTEND_CHECK(fs::exists(path), ValueError, "cannot resume: '{}' does not exist (was the run started with --out {}?)",
               path, out_dir);
  return path;
}

io::Metadata load_model_weights(const std::string& path, nn::Module<float>& model) {
  ATTEND_CHECK(fs::exists(path), ValueError, "checkpoint '{}' does not exist", path);
  return io::load_module(path, model, io::UnexpectedTensors::kReturnTrainingState).metadata;
}

}  // namespace attend::train
