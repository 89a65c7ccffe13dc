// The Fashion-MNIST recipe: an image classifier (models/image_classifier.h) trained on the
// 55,000 training images with AdamW, linear warm-up then cosine decay (train/lr_schedule.h),
// gradient clipping and light augmentation; accuracy on the 5,000 validation images after every
// epoch, and on the 10,000 test images once, at the end.
//
// Augmentation, a pure function of (seed, step) through one Generator:
//   random crop: the image is shifted by (dy, dx), each uniform in [-pad, pad], and the pixels
//                shifted in are 0 (as padding by `pad` zeros and cropping back, Krizhevsky et
//                al. 2012 style)
//   flip:        mirrored left-right with probability 1/2 (clothes are left-right symmetric)
#pragma once

#include <functional>
#include <vector>

#include "attend/train/trainer.h"

#include <cstdint>
#include <string>

#include "attend/core/random.h"
#include "attend/data/fashion_mnist.h"
#include "attend/models/image_classifier.h"

namespace attend::train {

struct FashionMnistTrainingOptions {
  std::string out_dir;               // metrics.jsonl; empty: none written
  int64_t epochs = 10;               // passes over the training images (when steps == 0)
  int64_t steps = 0;                 // optimizer steps; 0: epochs * ceil(train images / batch)
  int64_t batch_size = 128;
  double learning_rate = 1e-3;       // peak, reached at the end of warm-up
  double minimum_learning_rate = 1e-5;  // the end of the cosine
  int64_t warmup_steps = 0;          // 0: one twentieth of the steps (at least 1)
  double weight_decay = 0.05;        // AdamW's decoupled decay, on every parameter
  double clip_norm = 1.0;            // global gradient norm (0: no clipping)
  double label_smoothing = 0.0;
  int64_t crop_padding = 2;          // random shift of up to this many pixels (0: none)
  bool horizontal_flip = true;
  uint64_t seed = 1;                 // order of the images and augmentation
  double time_limit_seconds = 0;     // stop once exceeded, then evaluate (0: none)
  // With a time limit: the schedule advances by whichever is further along, the steps or the
  // clock, so that the cosine ends at the time limit however busy the machine is. The learning
  // rates then depend on the timing, and a run is no longer reproducible bit for bit.
  bool schedule_by_time = false;
  int64_t eval_batch_size = 500;
  // TensorBoard event files (io/tensorboard.h): train/loss, train/accuracy, train/learning_rate
  // and eval/val_accuracy after every epoch, eval/test_accuracy at the end, and the pictures of
  // eval_images (the command line draws attention over a validation image). Empty: none.
  std::string tensorboard_dir;
  std::function<std::vector<EvalImage>(models::ImageClassifier<float>&)> eval_images;
};

struct FashionMnistResult {
  double validation_accuracy = 0;  // fraction of the 5,000 validation images
  double test_accuracy = 0;        // fraction of the 10,000 test images
  int64_t steps = 0;
  double epochs = 0;               // steps * batch / training images
  double train_seconds = 0;        // wall clock of the whole loop, validations included
  double validation_seconds = 0;   // the part of train_seconds spent validating
  double test_seconds = 0;         // the final test evaluation
  bool stopped_by_time_limit = false;
  int64_t parameters = 0;
};

// The step the learning-rate schedule is evaluated at: `step`, or with schedule_by_time (and a
// time limit) the same fraction of total_steps as the fraction of the time limit spent, when
// that is further along.
int64_t schedule_step(int64_t step, int64_t total_steps, double elapsed_seconds,
                      const FashionMnistTrainingOptions& options);

// Images (B, 1, H, W) shifted and flipped as above; `images` is not modified.
Tensor<float> augment_images(const Tensor<float>& images, int64_t crop_padding, bool horizontal_flip,
                             Generator& generator);

// set.images (N, H, W) rows `begin .. begin + count` of `order` (or of 0 .. N-1 when `order` is
// empty) -> images (count, 1, H, W) and labels (count).
data::ImageSet image_batch(const data::ImageSet& set, const std::vector<int64_t>& order, int64_t begin, int64_t count);

// Fraction of `set` classified correctly, in evaluation mode without the tape; the model's mode
// is restored.
double evaluate_accuracy(models::ImageClassifier<float>& model, const data::ImageSet& set, int64_t batch_size = 500);

// Trains `model` in place on data.train, validating on data.validation each epoch, and returns
// the final figures (test accuracy on data.test). Appends one JSON object per line to
// OUT/metrics.jsonl: per epoch {"step", "epoch", "loss", "train_accuracy", "learning_rate",
// "val_accuracy", "seconds"}, and at the end the same with "test_accuracy".
FashionMnistResult train_fashion_mnist(models::ImageClassifier<float>& model, const data::FashionMnist& data,
                                       const FashionMnistTrainingOptions& options);

}  // namespace attend::train
