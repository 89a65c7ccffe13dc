#include "attend/train/fashion_mnist_training.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "attend/autograd/autograd.h"
#include "attend/core/error.h"
#include "attend/io/tensorboard.h"
#include "attend/ops/loss.h"
#include "attend/train/lr_schedule.h"
#include "attend/train/optimizer.h"
#include "attend/train/progress.h"

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

void shuffle(std::vector<int64_t>& order, Generator& generator) {
  for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[generator.uniform_int(i + 1)]);
}

}  // namespace

int64_t schedule_step(int64_t step, int64_t total_steps, double elapsed_seconds, const FashionMnistTrainingOptions& o) {
  return o.schedule_by_time ? time_scheduled_step(step, total_steps, elapsed_seconds, o.time_limit_seconds) : step;
}

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
  ATTEND_CHECK(begin >= 0 && count >= 0 && begin + count <= (order.empty() ? total : static_cast<int64_t>(order.size())),
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

double evaluate_accuracy(models::ImageClassifier<float>& model, const data::ImageSet& set, int64_t batch_size) {
  ATTEND_CHECK(batch_size >= 1, ValueError, "evaluate_accuracy: batch size must be >= 1, got {}", batch_size);
  const int64_t total = set.images.size(0);
  if (total == 0) return 0;
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  int64_t correct = 0;
  for (int64_t begin = 0; begin < total; begin += batch_size) {
    const data::ImageSet batch = image_batch(set, {}, begin, std::min(batch_size, total - begin));
    correct += count_correct(model.forward(batch.images), batch.labels);  // (B, K)
  }
  model.train(was_training);
  return static_cast<double>(correct) / total;
}

FashionMnistResult train_fashion_mnist(models::ImageClassifier<float>& model, const data::FashionMnist& data,
                                       const FashionMnistTrainingOptions& o) {
  const int64_t images = data.train.images.size(0);
  ATTEND_CHECK(images >= 1, ValueError, "train fashion-mnist: the training split is empty");
  ATTEND_CHECK(o.batch_size >= 1 && o.epochs >= 1 && o.steps >= 0, ValueError,
               "train fashion-mnist: batch size ({}) and epochs ({}) must be >= 1 and steps ({}) >= 0", o.batch_size,
               o.epochs, o.steps);
  const int64_t steps_per_epoch = (images + o.batch_size - 1) / o.batch_size;
  const int64_t total_steps = o.steps > 0 ? o.steps : o.epochs * steps_per_epoch;
  const int64_t warmup = o.warmup_steps > 0 ? o.warmup_steps : std::max<int64_t>(1, total_steps / 20);
  ATTEND_CHECK(o.warmup_steps == 0 || warmup < total_steps, ValueError,
               "train fashion-mnist: warm-up ({} steps) must be shorter than the run ({})", warmup, total_steps);
  std::ofstream metrics;
  if (!o.out_dir.empty()) {
    std::filesystem::create_directories(o.out_dir);
    metrics.open(std::filesystem::path(o.out_dir) / "metrics.jsonl", std::ios::app);
    ATTEND_CHECK(metrics.good(), ValueError, "train fashion-mnist: cannot write metrics to '{}'", o.out_dir);
  }
  std::unique_ptr<io::TensorBoardWriter> tensorboard;
  if (!o.tensorboard_dir.empty()) tensorboard = std::make_unique<io::TensorBoardWriter>(o.tensorboard_dir);

  AdamWOptions adam;
  adam.learning_rate = o.learning_rate;
  adam.weight_decay = o.weight_decay;
  AdamW<float> optimizer(model.named_parameters(), adam);
  // A one-step run (a smoke test) has only its warm-up step: the cosine needs one more.
  const WarmupCosineSchedule schedule(o.learning_rate, warmup, std::max(total_steps, warmup + 1), o.minimum_learning_rate);
  CrossEntropyOptions loss_options;
  loss_options.label_smoothing = o.label_smoothing;
  Generator order_generator(o.seed), augmentation(order_generator.next_u64());
  std::vector<int64_t> order(images);
  for (int64_t i = 0; i < images; ++i) order[i] = i;

  FashionMnistResult result;
  result.parameters = model.parameter_count();
  ProgressBar progress(total_steps, stderr, 100, "img");
  double running_loss = 0;
  int64_t step = 0, seen = 0;
  model.train();
  for (int64_t epoch = 1; step < total_steps && !result.stopped_by_time_limit; ++epoch) {
    shuffle(order, order_generator);
    int64_t epoch_correct = 0, epoch_seen = 0;
    for (int64_t begin = 0; begin < images && step < total_steps; begin += o.batch_size) {
      const data::ImageSet batch = image_batch(data.train, order, begin, std::min(o.batch_size, images - begin));
      const Tensor<float> inputs = augment_images(batch.images, o.crop_padding, o.horizontal_flip, augmentation);
      optimizer.set_learning_rate(schedule.learning_rate(schedule_step(step, total_steps, progress.elapsed_seconds(), o)));
      const Tensor<float> logits = model.forward(inputs);  // (B, K)
      const Tensor<float> loss = cross_entropy(logits, batch.labels, loss_options);
      optimizer.zero_grad();
      loss.backward();
      if (o.clip_norm > 0) clip_grad_norm(optimizer.parameters(), o.clip_norm);
      optimizer.step();
      ++step;
      running_loss = step == 1 ? loss.item() : 0.98 * running_loss + 0.02 * loss.item();
      epoch_correct += count_correct(logits.detach(), batch.labels);
      epoch_seen += batch.labels.numel();
      seen += batch.labels.numel();
      progress.update(step, running_loss, seen, fmt::format("epoch {}", epoch));
      if (o.time_limit_seconds > 0 && progress.elapsed_seconds() > o.time_limit_seconds) {
        result.stopped_by_time_limit = true;
        break;
      }
    }
    const double evaluation_start = progress.elapsed_seconds();
    const double validation = evaluate_accuracy(model, data.validation, o.eval_batch_size);
    result.validation_seconds += progress.elapsed_seconds() - evaluation_start;
    const double train_accuracy = epoch_seen > 0 ? static_cast<double>(epoch_correct) / epoch_seen : 0;
    result.validation_accuracy = validation;
    if (metrics.is_open()) {
      metrics << fmt::format(
          "{{\"step\": {}, \"epoch\": {:.4f}, \"loss\": {:.6f}, \"train_accuracy\": {:.6f}, \"learning_rate\": {:.6g}, "
          "\"val_accuracy\": {:.6f}, \"seconds\": {:.1f}}}\n",
          step, static_cast<double>(seen) / images, running_loss, train_accuracy, optimizer.learning_rate(), validation,
          progress.elapsed_seconds());
      metrics.flush();
    }
    if (tensorboard) {
      tensorboard->add_scalar("train/loss", running_loss, step);
      tensorboard->add_scalar("train/accuracy", train_accuracy, step);
      tensorboard->add_scalar("train/learning_rate", optimizer.learning_rate(), step);
      tensorboard->add_scalar("eval/val_accuracy", validation, step);
      if (o.eval_images) {
        model.eval();
        for (const EvalImage& image : o.eval_images(model)) {
          tensorboard->add_png(image.tag, image.png, image.height, image.width, image.channels, step);
        }
        model.train();
      }
      tensorboard->flush();
    }
    const bool augmented = o.crop_padding > 0 || o.horizontal_flip;
    fmt::print(stderr, "\nepoch {} (step {}): loss {:.4f}, train accuracy {:.2f}%{}, validation {:.2f}%\n", epoch, step,
               running_loss, 100 * train_accuracy, augmented ? " (augmented)" : "", 100 * validation);
  }
  progress.finish();
  result.steps = step;
  result.epochs = static_cast<double>(seen) / images;
  result.train_seconds = progress.elapsed_seconds();
  result.test_accuracy = evaluate_accuracy(model, data.test, o.eval_batch_size);
  result.test_seconds = progress.elapsed_seconds() - result.train_seconds;
  if (tensorboard) {
    tensorboard->add_scalar("eval/test_accuracy", result.test_accuracy, step);
    tensorboard->flush();
  }
  if (metrics.is_open()) {
    metrics << fmt::format(
        "{{\"step\": {}, \"epoch\": {:.4f}, \"loss\": {:.6f}, \"val_accuracy\": {:.6f}, \"test_accuracy\": {:.6f}, "
        "\"seconds\": {:.1f}, \"parameters\": {}, \"stopped_by_time_limit\": {}}}\n",
        step, result.epochs, running_loss, result.validation_accuracy, result.test_accuracy, result.train_seconds,
        result.parameters, result.stopped_by_time_limit);
  }
  model.eval();
  return result;
}

}  // namespace attend::train
