#include "attend/train/fashion_mnist_training.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/distributed/communicator.h"
#include "attend/io/tensorboard.h"
#include "attend/ops/loss.h"
#include "attend/train/lr_schedule.h"
#include "attend/train/optimizer.h"
#include "train/epoch_order.h"

namespace attend::train {
namespace {

// Rows of logits (B, K) whose largest entry (the first, on ties) is the label.
int64_t count_correct(const Tensor<float>& logits, const IndexTensor& labels) {
  const int64_t batch = logits.size(0), classes = logits.size(1);
  const Tensor<float> values = logits.contiguous();
  int64_t correct = 0;
  for (int64_t b = 0; b < batch; ++b) {
    const float* row = values.data() + b * classes;
    correct += std::max_element(row, row + classes) - row == labels.data()[b];
  }
  return correct;
}

}  // namespace

Tensor<float> augment_images(const Tensor<float>& images, int64_t crop_padding, bool horizontal_flip,
                             Generator& generator) {
  ATTEND_CHECK(images.rank() == 4, ShapeError, "augment_images: images {} must be (B, C, H, W)",
               shape_string(images.shape()));
  ATTEND_CHECK(crop_padding >= 0, ValueError, "augment_images: crop_padding must be >= 0, got {}", crop_padding);
  const Tensor<float> in = images.contiguous();
  const int64_t batch = in.size(0), planes = in.size(1), height = in.size(2), width = in.size(3);
  Tensor<float> out = Tensor<float>::empty(in.shape());
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t span = 2 * crop_padding + 1;
    const int64_t dy = static_cast<int64_t>(generator.uniform_int(span)) - crop_padding;
    const int64_t dx = static_cast<int64_t>(generator.uniform_int(span)) - crop_padding;
    const bool flip = horizontal_flip && generator.uniform_int(2) == 1;
    for (int64_t c = 0; c < planes; ++c) {
      const float* source = in.data() + (b * planes + c) * height * width;
      float* target = out.data() + (b * planes + c) * height * width;
      for (int64_t y = 0; y < height; ++y) {
        for (int64_t x = 0; x < width; ++x) {
          // out[y, x] = in[y - dy, x' - dx], x' = mirrored x when flipped; 0 outside the image.
          const int64_t sy = y - dy, sx = (flip ? width - 1 - x : x) - dx;
          target[y * width + x] = sy >= 0 && sy < height && sx >= 0 && sx < width ? source[sy * width + sx] : 0.0f;
        }
      }
    }
  }
  return out;
}

data::ImageSet image_batch(const data::ImageSet& set, const std::vector<int64_t>& order, int64_t begin, int64_t count) {
  const int64_t total = set.images.size(0), height = set.images.size(1), width = set.images.size(2);
  ATTEND_CHECK(
      begin >= 0 && count >= 0 && begin + count <= (order.empty() ? total : static_cast<int64_t>(order.size())),
      ValueError, "image_batch: rows {} .. {} are outside the {} available", begin, begin + count,
      order.empty() ? total : static_cast<int64_t>(order.size()));
  data::ImageSet batch{Tensor<float>::empty({count, 1, height, width}), IndexTensor::empty({count})};
  const int64_t pixels = height * width;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t row = order.empty() ? begin + i : order[begin + i];
    std::copy_n(set.images.data() + row * pixels, pixels, batch.images.data() + i * pixels);
    batch.labels.data()[i] = set.labels.data()[row];
  }
  return batch;
}

double evaluate_accuracy(models::ImageClassifier<float>& model, const data::ImageSet& set, int64_t batch_size,
                         distributed::Communicator* group) {
  ATTEND_CHECK(batch_size >= 1, ValueError, "evaluate_accuracy: batch size must be >= 1, got {}", batch_size);
  const int64_t total = set.images.size(0);
  if (total == 0) return 0;
  // This rank's images [first, last).
  const int64_t ranks = group ? group->size() : 1, rank = group ? group->rank() : 0;
  const int64_t first = rank * total / ranks, last = (rank + 1) * total / ranks;
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  int64_t correct = 0;
  for (int64_t begin = first; begin < last; begin += batch_size) {
    const data::ImageSet batch = image_batch(set, {}, begin, std::min(batch_size, last - begin));
    correct += count_correct(model.forward(batch.images), batch.labels);  // (B, K)
  }
  model.train(was_training);
  if (group) correct = group->sum_counts({correct})[0];
  return static_cast<double>(correct) / total;
}

FashionMnistBatches::FashionMnistBatches(const data::ImageSet& train, int64_t batch_size, uint64_t seed,
                                         int64_t crop_padding, bool horizontal_flip)
    : train_(train),
      batch_size_(batch_size),
      steps_per_epoch_(batch_size >= 1 ? (train.images.size(0) + batch_size - 1) / batch_size : 0),
      crop_padding_(crop_padding),
      horizontal_flip_(horizontal_flip),
      seed_(seed) {
  ATTEND_CHECK(batch_size >= 1 && crop_padding >= 0, ValueError,
               "FashionMnistBatches: batch size ({}) must be >= 1 and crop padding ({}) >= 0", batch_size,
               crop_padding);
  ATTEND_CHECK(train.images.size(0) >= 1, ValueError, "train fashion-mnist: the training split is empty");
}

data::ImageSet FashionMnistBatches::batch(int64_t step, const Shard& shard) {
  ATTEND_CHECK(step >= 0, ValueError, "FashionMnistBatches: step must be >= 0, got {}", step);
  const int64_t images = train_.images.size(0), epoch = step / steps_per_epoch_;
  if (epoch != cached_epoch_) {
    cached_order_ = epoch_order(images, seed_, epoch);
    cached_epoch_ = epoch;
  }
  const int64_t begin = step % steps_per_epoch_ * batch_size_;
  data::ImageSet batch = image_batch(train_, cached_order_, begin, std::min(batch_size_, images - begin));
  Generator augmentation(stream_seed(seed_, 1, static_cast<uint64_t>(step)));
  batch.images = augment_images(batch.images, crop_padding_, horizontal_flip_, augmentation);
  if (shard.count == 1) return batch;
  const auto [first, last] = shard.rows(batch.labels.numel());
  return {batch.images.slice(0, first, last).contiguous(), batch.labels.slice(0, first, last).contiguous()};
}

FashionMnistResult train_fashion_mnist(models::ImageClassifier<float>& model, const data::FashionMnist& data,
                                       const FashionMnistTrainingOptions& o) {
  const int64_t images = data.train.images.size(0);
  ATTEND_CHECK(o.batch_size >= 1 && o.epochs >= 1 && o.steps >= 0, ValueError,
               "train fashion-mnist: batch size ({}) and epochs ({}) must be >= 1 and steps ({}) >= 0", o.batch_size,
               o.epochs, o.steps);
  // The best model is reloaded from out_dir, so a resumed run must write there.
  ATTEND_CHECK(o.resume_from.empty() ||
                   (!o.out_dir.empty() &&
                    std::filesystem::weakly_canonical(o.resume_from) ==
                        std::filesystem::weakly_canonical(std::filesystem::path(o.out_dir) / "checkpoint.safetensors")),
               ValueError, "train fashion-mnist: resume from OUT/checkpoint.safetensors of the run's --out, got '{}'",
               o.resume_from);
  FashionMnistBatches batches(data.train, o.batch_size, o.seed, o.crop_padding, o.horizontal_flip);
  const int64_t steps_per_epoch = batches.steps_per_epoch();
  const int64_t total_steps = o.steps > 0 ? o.steps : o.epochs * steps_per_epoch;
  const int64_t warmup = o.warmup_steps > 0 ? o.warmup_steps : std::max<int64_t>(1, total_steps / 20);
  ATTEND_CHECK(o.warmup_steps == 0 || warmup < total_steps, ValueError,
               "train fashion-mnist: warm-up ({} steps) must be shorter than the run ({})", warmup, total_steps);

  AdamWOptions adam;
  adam.learning_rate = o.learning_rate;
  adam.weight_decay = o.weight_decay;
  AdamW<float> optimizer(model.named_parameters(), adam);
  // A one-step run (a smoke test) has only its warm-up step: the cosine needs one more.
  const WarmupCosineSchedule schedule(o.learning_rate, warmup, std::max(total_steps, warmup + 1),
                                      o.minimum_learning_rate);

  TrainerOptions trainer_options;
  static_cast<RunOptions&>(trainer_options) = o;  // where it writes, resume, time limit, metadata
  trainer_options.steps = total_steps;
  trainer_options.eval_every = steps_per_epoch;
  trainer_options.clip_norm = o.clip_norm;
  trainer_options.best_metric = "val_accuracy";
  trainer_options.higher_is_better = true;
  trainer_options.items_name = "img";
  // The options a resumed run must share with the run it continues (Trainer refuses a mismatch).
  trainer_options.metadata.merge(
      io::Metadata{{"train.batch_size", std::to_string(o.batch_size)},
                   {"train.seed", std::to_string(o.seed)},
                   {"train.learning_rate", fmt::format("{}", o.learning_rate)},
                   {"train.minimum_learning_rate", fmt::format("{}", o.minimum_learning_rate)},
                   {"train.warmup_steps", std::to_string(warmup)},
                   {"train.weight_decay", fmt::format("{}", o.weight_decay)},
                   {"train.clip_norm", fmt::format("{}", o.clip_norm)},
                   {"train.label_smoothing", fmt::format("{}", o.label_smoothing)},
                   {"train.crop_padding", std::to_string(o.crop_padding)},
                   {"train.horizontal_flip", o.horizontal_flip ? "1" : "0"}});
  check_batch_shards(o.batch_size, o.shards, "train fashion-mnist", trainer_options.metadata);
  check_last_batch_fills_shards(images, o.batch_size, o.shards, "train fashion-mnist", "images");
  trainer_options.data_fingerprint =
      fmt::format("{} training images, labels {:016x}", images,
                  distributed::fingerprint_bytes(data.train.labels.contiguous().data(),
                                                 sizeof(int64_t) * static_cast<size_t>(data.train.labels.numel())));
  Trainer trainer(model, optimizer, trainer_options);
  trainer.set_schedule([&](int64_t step) { return schedule.learning_rate(step); });
  if (o.eval_images) trainer.set_eval_images([&] { return o.eval_images(model); });

  CrossEntropyOptions loss_options;
  loss_options.label_smoothing = o.label_smoothing;
  // Training accuracy since the last evaluation (on augmented images, before each update), and
  // the best model's parameters when there is no out_dir to reload them from.
  int64_t correct = 0, seen = 0, last_step = 0;
  // Epochs done after `steps` steps: the full epochs, then the part of the current one.
  const auto epochs_after = [&](int64_t steps) {
    return static_cast<double>(steps / steps_per_epoch) +
           static_cast<double>(steps % steps_per_epoch * o.batch_size) / static_cast<double>(images);
  };
  std::vector<std::vector<float>> best_parameters;
  double best_validation = -1;
  const auto batch_loss = [&](int64_t step, const Shard& shard) {
    const data::ImageSet batch = batches.batch(step, shard);
    const Tensor<float> logits = model.forward(batch.images);  // (B, K)
    correct += count_correct(logits.detach(), batch.labels);
    seen += batch.labels.numel();
    last_step = step + 1;
    return BatchLoss{cross_entropy(logits, batch.labels, loss_options), batch.labels.numel()};
  };
  const auto evaluate = [&]() -> Metrics {
    const double validation = evaluate_accuracy(model, data.validation, o.eval_batch_size, &distributed::world());
    const Metrics metrics = {{"epoch", epochs_after(last_step)},
                             {"train_accuracy", accuracy_over_ranks(correct, seen)},
                             {"val_accuracy", validation}};
    correct = seen = 0;
    if (o.out_dir.empty() && validation > best_validation) {
      best_validation = validation;
      best_parameters.clear();
      for (const auto& [name, parameter] : model.named_parameters()) best_parameters.push_back(parameter.to_vector());
    }
    return metrics;
  };
  const TrainerResult trained = trainer.run(batch_loss, evaluate);

  // The best model back into `model`, then the test images.
  if (!o.out_dir.empty()) {
    load_model_weights((std::filesystem::path(o.out_dir) / "model.safetensors").string(), model);
  } else if (!best_parameters.empty()) {
    const auto parameters = model.named_parameters();
    for (size_t i = 0; i < parameters.size(); ++i) {
      std::copy(best_parameters[i].begin(), best_parameters[i].end(), parameters[i].second.data());
    }
  }
  FashionMnistResult result;
  result.parameters = model.parameter_count();
  result.steps = trained.steps;
  result.best_step = trained.best_step;
  result.epochs = epochs_after(trained.steps);
  result.train_seconds = trained.train_seconds;
  result.stopped_by_time_limit = trained.steps < total_steps;
  const double* best_validation_accuracy = find_metric(trained.best, "val_accuracy");
  result.validation_accuracy = best_validation_accuracy ? *best_validation_accuracy : 0.0;
  const auto test_start = std::chrono::steady_clock::now();
  result.test_accuracy = evaluate_accuracy(model, data.test, o.eval_batch_size, &distributed::world());
  result.test_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - test_start).count();
  const bool writer = distributed::world().is_root();  // under mpirun, rank 0 writes
  if (!o.tensorboard_dir.empty() && writer) {
    io::TensorBoardWriter tensorboard(o.tensorboard_dir);
    tensorboard.add_scalar("eval/test_accuracy", result.test_accuracy, result.best_step);
  }
  if (!o.out_dir.empty() && writer) {
    std::ofstream metrics(std::filesystem::path(o.out_dir) / "metrics.jsonl", std::ios::app);
    // At the best model's step, so that `attend plot` draws test accuracy where it was measured.
    metrics << fmt::format("{{\"step\": {}, \"test_accuracy\": {:.6f}}}\n", result.best_step, result.test_accuracy);
    ATTEND_CHECK(metrics.good(), io::IoError, "train fashion-mnist: cannot append to '{}/metrics.jsonl'", o.out_dir);
  }
  model.eval();
  return result;
}

}  // namespace attend::train
