#include "attend/train/fashion_mnist_training.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include <fmt/format.h>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/distributed/communicator.h"
#include "attend/ops/loss.h"
#include "attend/train/lr_schedule.h"
#include "attend/train/optimizer.h"
#include "attend/train/recipe.h"
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

namespace {

// The task the recipe runs (train/recipe.h): augmented batches in an epoch order, cross-entropy,
// validation accuracy, and the training accuracy since the last evaluation (on augmented images,
// before each update).
class FashionMnistTask : public TrainingTask {
 public:
  FashionMnistTask(models::ImageClassifier<float>& model, const data::FashionMnist& data,
                   const FashionMnistTrainingOptions& o)
      : model_(model),
        data_(data),
        o_(o),
        batches_(data.train, o.batch_size, o.seed, o.crop_padding, o.horizontal_flip) {
    loss_options_.label_smoothing = o.label_smoothing;
  }
  int64_t steps_per_epoch() const { return batches_.steps_per_epoch(); }
  // Epochs done after `steps` steps: the full epochs, then the part of the current one.
  double epochs_after(int64_t steps) const {
    const int64_t per_epoch = steps_per_epoch(), images = data_.train.images.size(0);
    return static_cast<double>(steps / per_epoch) +
           static_cast<double>(steps % per_epoch * o_.batch_size) / static_cast<double>(images);
  }

  BatchLoss batch_loss(int64_t step, const Shard& shard) override {
    const data::ImageSet batch = batches_.batch(step, shard);
    const Tensor<float> logits = model_.forward(batch.images);  // (B, K)
    correct_ += count_correct(logits.detach(), batch.labels);
    seen_ += batch.labels.numel();
    last_step_ = step + 1;
    return BatchLoss{cross_entropy(logits, batch.labels, loss_options_), batch.labels.numel()};
  }
  Metrics evaluate() override {
    const double validation = evaluate_accuracy(model_, data_.validation, o_.eval_batch_size, &distributed::world());
    const Metrics metrics = {{"epoch", epochs_after(last_step_)},
                             {"train_accuracy", accuracy_over_ranks(correct_, seen_)},
                             {"val_accuracy", validation}};
    correct_ = seen_ = 0;
    return metrics;
  }
  bool has_eval_images() const override { return static_cast<bool>(o_.eval_images); }
  std::vector<EvalImage> eval_images() override { return o_.eval_images(model_); }

 private:
  models::ImageClassifier<float>& model_;
  const data::FashionMnist& data_;
  const FashionMnistTrainingOptions& o_;
  FashionMnistBatches batches_;
  CrossEntropyOptions loss_options_;
  int64_t correct_ = 0, seen_ = 0, last_step_ = 0;
};

}  // namespace

FashionMnistResult train_fashion_mnist(models::ImageClassifier<float>& model, const data::FashionMnist& data,
                                       const FashionMnistTrainingOptions& o) {
  const int64_t images = data.train.images.size(0);
  ATTEND_CHECK(o.batch_size >= 1 && o.epochs >= 1 && o.steps >= 0, ValueError,
               "train fashion-mnist: batch size ({}) and epochs ({}) must be >= 1 and steps ({}) >= 0", o.batch_size,
               o.epochs, o.steps);
  FashionMnistTask task(model, data, o);
  const int64_t total_steps = o.steps > 0 ? o.steps : o.epochs * task.steps_per_epoch();
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

  RecipeSettings settings;
  settings.task = "train fashion-mnist";
  settings.steps = total_steps;
  settings.eval_every = task.steps_per_epoch();
  settings.clip_norm = o.clip_norm;
  settings.best_metric = "val_accuracy";
  settings.higher_is_better = true;
  settings.items_name = "img";
  settings.batch_size = o.batch_size;
  settings.training_items = images;
  settings.items_noun = "images";
  settings.settings = shared_settings(o.batch_size, o.seed, o.learning_rate, warmup, o.weight_decay, o.clip_norm);
  settings.settings.merge(io::Metadata{{"train.minimum_learning_rate", fmt::format("{}", o.minimum_learning_rate)},
                                       {"train.label_smoothing", fmt::format("{}", o.label_smoothing)},
                                       {"train.crop_padding", std::to_string(o.crop_padding)},
                                       {"train.horizontal_flip", o.horizontal_flip ? "1" : "0"}});
  settings.data_fingerprint =
      fmt::format("{} training images, labels {:016x}", images,
                  distributed::fingerprint_bytes(data.train.labels.contiguous().data(),
                                                 sizeof(int64_t) * static_cast<size_t>(data.train.labels.numel())));
  settings.restore_best = true;
  const TrainerResult trained = run_recipe(model, optimizer, schedule, o, settings, task);

  FashionMnistResult result;
  result.parameters = model.parameter_count();
  result.steps = trained.steps;
  result.best_step = trained.best_step;
  result.epochs = task.epochs_after(trained.steps);
  result.train_seconds = trained.train_seconds;
  result.stopped_by_time_limit = trained.steps < total_steps;
  const double* best_validation_accuracy = find_metric(trained.best, "val_accuracy");
  result.validation_accuracy = best_validation_accuracy ? *best_validation_accuracy : 0.0;
  const auto test_start = std::chrono::steady_clock::now();
  result.test_accuracy = evaluate_accuracy(model, data.test, o.eval_batch_size, &distributed::world());
  result.test_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - test_start).count();
  record_test_metrics(o, result.best_step, {{"accuracy", result.test_accuracy}});
  model.eval();
  return result;
}

}  // namespace attend::train
