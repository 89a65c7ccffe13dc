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
#include "attend/io/tensorboard.h"
#include "attend/train/lr_schedule.h"
#include "attend/train/progress.h"
#include "data_parallel.h"

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

TrainerResult Trainer::run(const std::function<BatchLoss(int64_t step, const Shard& shard)>& batch_loss,
                           const std::function<Metrics()>& evaluate) {
  // Rank 0 alone writes and prints.
  TrainerOptions local = options_;
  if (!communicator_.is_root()) {
    local.out_dir.clear();
    local.tensorboard_dir.clear();
    local.quiet = true;
  }
  const TrainerOptions& o = local;
  const bool sharded = o.shards > 1 || communicator_.size() > 1;
  TrainerResult result;
  int64_t step = 0;
  if (!o.resume_from.empty()) {
    step = load_checkpoint(o.resume_from);
    result.resumed = true;
    if (!o.quiet) fmt::print(stderr, "resuming from '{}' at step {}\n", o.resume_from, step);
  }
  if (communicator_.size() > 1) {
    std::string description = fmt::format("steps {} shards {} optimizer {} lr {} data {}", o.steps, o.shards,
                                          optimizer_.name(), optimizer_.learning_rate(), o.data_fingerprint);
    for (const auto& [key, value] : o.metadata) description += "\n" + key + "=" + value;
    synchronize_start(communicator_, optimizer_, description, step);
    if (!o.quiet)
      fmt::print(stderr, "training on {}, {} gradient shards a step\n", communicator_.description(), o.shards);
  }
  std::ofstream metrics_file;
  if (!o.out_dir.empty()) {
    fs::create_directories(o.out_dir);
    remove_stale_temporaries(o.out_dir);
    remove_stale_temporaries(fs::path(o.out_dir) / kSnapshotDirectory);
    if (result.resumed) {
      const int64_t dropped = truncate_metrics_after(fs::path(o.out_dir) / kMetricsFile, step);
      if (dropped > 0 && !o.quiet) {
        fmt::print(stderr, "dropped {} line(s) of {} past step {}: the resumed run writes them again\n", dropped,
                   kMetricsFile, step);
      }
    }
    if (o.keep_snapshots) prepare_snapshot_directory(fs::path(o.out_dir) / kSnapshotDirectory, !result.resumed);
    const auto mode = result.resumed ? std::ios::app : std::ios::trunc;
    metrics_file.open(fs::path(o.out_dir) / kMetricsFile, std::ios::out | mode);
    ATTEND_CHECK(metrics_file.good(), ValueError, "cannot write metrics to '{}'", o.out_dir);
  }

  std::unique_ptr<io::TensorBoardWriter> tensorboard;
  if (!o.tensorboard_dir.empty()) tensorboard = std::make_unique<io::TensorBoardWriter>(o.tensorboard_dir);
  ProgressBar progress(o.steps, stderr, 50, o.items_name);
  progress.set_first_step(step);
  if (o.time_limit_seconds > 0) progress.set_time_left(o.time_limit_seconds - elapsed_seconds_before_);
  const auto start = std::chrono::steady_clock::now();
  // Wall-clock time of the whole run, earlier runs it resumes included: what the time limit
  // and a schedule by time count.
  const auto run_seconds = [&] { return elapsed_seconds_before_ + seconds_since(start); };
  // Rank 0's clock for what every rank must decide alike (a schedule by time, the time limit).
  const auto shared_run_seconds = [&] {
    std::vector<double> seconds = {run_seconds()};
    if (communicator_.size() > 1) communicator_.broadcast(seconds);
    return seconds[0];
  };
  double train_seconds = 0;
  std::vector<double> exchange_times = {0, 0};  // this rank's seconds waiting for the slowest, and exchanging
  ShardWorkspace shard_workspace;
  int64_t items = 0;
  model_.train();
  const auto run_evaluation = [&](int64_t done) {
    const auto eval_start = std::chrono::steady_clock::now();
    model_.eval();
    const Metrics metrics = evaluate();
    const std::vector<EvalImage> images = tensorboard && eval_images_ ? eval_images_() : std::vector<EvalImage>{};
    model_.train();
    if (tensorboard) {
      for (const auto& [name, value] : metrics) tensorboard->add_scalar("eval/" + name, value, done);
      for (const auto& image : images) {
        tensorboard->add_png(image.tag, image.png, image.height, image.width, image.channels, done);
      }
      tensorboard->flush();
    }
    result.last = metrics;
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
    const double total_train_seconds = train_seconds_before_ + train_seconds;
    // Every rank's waiting and exchanging so far (data parallelism): (2, R).
    std::vector<std::vector<double>> times_by_rank(2);
    if (sharded) {
      const std::vector<double> all = communicator_.all_gather(exchange_times);  // (R, 2)
      for (size_t r = 0; r < all.size() / 2; ++r) {
        times_by_rank[0].push_back(all[2 * r]);
        times_by_rank[1].push_back(all[2 * r + 1]);
      }
    }
    if (metrics_file.is_open()) {
      nlohmann::ordered_json line;
      line["step"] = done;
      line["loss"] = running_loss_;
      line["learning_rate"] = optimizer_.learning_rate();
      line["train_seconds"] = total_train_seconds;
      line["items_per_second"] = train_seconds > 0 ? items / train_seconds : 0.0;
      // This process's time in the gradient exchange so far (data parallelism only).
      if (sharded) {
        line["wait_seconds"] = times_by_rank[0];
        line["exchange_seconds"] = times_by_rank[1];
      }
      for (const auto& [name, value] : metrics) line[name] = value;
      metrics_file << line.dump() << "\n";
      metrics_file.flush();
    }
    if (sharded) gather_optimizer_state(communicator_, optimizer_, shard_workspace);  // for the checkpoint
    if (!o.out_dir.empty()) {
      // The model when it improved and the snapshot, then the resumable state: a crash in between
      // never leaves a checkpoint past a best model or a snapshot that is not on disk.
      const double elapsed = run_seconds();
      const fs::path out(o.out_dir);
      if (improved) save_checkpoint((out / kModelFile).string(), done, true, metrics, total_train_seconds, elapsed);
      if (o.keep_snapshots) {
        const std::string name = fmt::format("model-{:07}.safetensors", done);
        save_checkpoint((out / kSnapshotDirectory / name).string(), done, true, metrics, total_train_seconds, elapsed);
      }
      save_checkpoint((out / kCheckpointFile).string(), done, false, metrics, total_train_seconds, elapsed);
    }
    if (!o.quiet) {
      std::string text;
      for (const auto& [name, value] : metrics) text += fmt::format(" {} {:.4g}", name, value);
      fmt::print(stderr, "\nstep {}:{}{}\n", done, text, improved && !o.best_metric.empty() ? " (best)" : "");
    }
    progress.exclude_seconds(seconds_since(eval_start));
  };

  for (; step < o.steps; ++step) {
    if (schedule_) {
      optimizer_.set_learning_rate(schedule_(
          o.schedule_by_time ? time_scheduled_step(step, o.steps, shared_run_seconds(), o.time_limit_seconds) : step));
    }
    const auto step_start = std::chrono::steady_clock::now();
    double loss = 0;
    int64_t batch_items = 0;
    if (sharded) {  // backward, clipping and the update, split among the ranks
      const ShardedLoss shards =
          sharded_step(communicator_, model_, optimizer_, o.shards, step, batch_loss, o.clip_norm, shard_workspace);
      exchange_times[0] += shards.wait_seconds;
      exchange_times[1] += shards.exchange_seconds;
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
    train_seconds += seconds_since(step_start);
    items += batch_items;
    running_loss_ = step == 0 ? loss : 0.98 * running_loss_ + 0.02 * loss;
    if (!o.quiet) progress.update(step + 1, running_loss_, items);
    if (tensorboard && ((step + 1) % std::max<int64_t>(o.tensorboard_every, 1) == 0 || step + 1 == o.steps)) {
      tensorboard->add_scalar("train/loss", running_loss_, step + 1);
      tensorboard->add_scalar("train/learning_rate", optimizer_.learning_rate(), step + 1);
      tensorboard->add_scalar("train/items_per_second", train_seconds > 0 ? items / train_seconds : 0.0, step + 1);
    }

    const bool last = step + 1 == o.steps;
    const bool out_of_time = o.time_limit_seconds > 0 && shared_run_seconds() > o.time_limit_seconds;
    if ((o.eval_every > 0 && (step + 1) % o.eval_every == 0) || last || out_of_time) run_evaluation(step + 1);
    result.stopped_early = o.patience > 0 && evaluations_without_improvement_ >= o.patience && !last;
    if (out_of_time || result.stopped_early) {
      if (result.stopped_early && !o.quiet) {
        fmt::print(stderr, "\nstopping early: {} evaluations without a better {} (best at step {})\n",
                   evaluations_without_improvement_, o.best_metric, best_step_);
      }
      ++step;
      break;
    }
  }
  if (!o.quiet) progress.finish();
  if (sharded) gather_optimizer_state(communicator_, optimizer_, shard_workspace);  // every rank's optimizer whole
  // Rank 0's files are complete before any rank reads them (e.g. the best model).
  communicator_.barrier();
  model_.eval();
  result.steps = step;
  result.train_seconds = train_seconds;
  result.items_per_second = train_seconds > 0 ? items / train_seconds : 0;
  result.best = best_;
  result.best_step = best_step_;
  return result;
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
