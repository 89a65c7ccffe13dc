// The Fashion-MNIST recipe: an image classifier (models/image_classifier.h) trained on the
// 55,000 training images with AdamW, linear warm-up then cosine decay (train/lr_schedule.h),
// gradient clipping and light augmentation, through the Trainer (train/trainer.h): accuracy on
// the 5,000 validation images after every epoch, the best model by validation accuracy kept,
// resumable checkpoints, and the 10,000 test images scored once, at the end, on the best model.
//
// Batch `step` is a pure function of (seed, step), so that a resumed run sees the same images:
//   epoch e = step / steps_per_epoch takes the images in a seeded shuffle of epoch e, batch
//   b = step % steps_per_epoch its rows [b B, (b + 1) B) (the last batch may be short), and
//   each batch is augmented with its own seeded generator:
//   random crop: the image is shifted by (dy, dx), each uniform in [-pad, pad], and the pixels
//                shifted in are 0 (as padding by `pad` zeros and cropping back, Krizhevsky et
//                al. 2012 style)
//   flip:        mirrored left-right with probability 1/2 (clothes are left-right symmetric)
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "attend/core/random.h"
#include "attend/data/fashion_mnist.h"
#include "attend/io/safetensors.h"
#include "attend/models/image_classifier.h"
#include "attend/train/trainer.h"

namespace attend::train {

// RunOptions (trainer.h: out_dir (metrics.jsonl, model.safetensors with the best validation
// accuracy, checkpoint.safetensors), resume_from, time limit, ...), then the task's own. Its
// TensorBoard files (io/tensorboard.h) hold the Trainer's train/loss, train/learning_rate and
// train/items_per_second, eval/val_accuracy and eval/train_accuracy after every epoch,
// eval/test_accuracy at the end, and the pictures of eval_images.
struct FashionMnistTrainingOptions : RunOptions {
  int64_t epochs = 10;  // passes over the training images (when steps == 0)
  int64_t steps = 0;    // optimizer steps; 0: epochs * ceil(train images / batch)
  int64_t batch_size = 128;
  double learning_rate = 1e-3;          // peak, reached at the end of warm-up
  double minimum_learning_rate = 1e-5;  // the end of the cosine
  int64_t warmup_steps = 0;             // 0: one twentieth of the steps (at least 1)
  double weight_decay = 0.05;           // AdamW's decoupled decay, on every parameter
  double clip_norm = 1.0;               // global gradient norm (0: no clipping)
  double label_smoothing = 0.0;
  int64_t crop_padding = 2;  // random shift of up to this many pixels (0: none)
  bool horizontal_flip = true;
  uint64_t seed = 1;  // order of the images and augmentation
  int64_t eval_batch_size = 500;
  // Pictures logged to TensorBoard after every epoch (the command line draws attention over a
  // validation image).
  std::function<std::vector<EvalImage>(models::ImageClassifier<float>&)> eval_images;
};

struct FashionMnistResult {
  double validation_accuracy = 0;  // the best model's, fraction of the 5,000 validation images
  double test_accuracy = 0;        // the best model's, fraction of the 10,000 test images
  int64_t best_step = 0;           // the step of the best model (by validation accuracy)
  int64_t steps = 0;               // the step reached (a resumed run counts the earlier ones)
  double epochs = 0;               // steps * batch / training images
  double train_seconds = 0;        // forward, backward and optimizer time of this process
  double test_seconds = 0;         // the final test evaluation
  bool stopped_by_time_limit = false;
  int64_t parameters = 0;
};

// Batch `step` of the training images as described above: a pure function of (seed, step).
class FashionMnistBatches {
 public:
  // Keeps a reference to `train`, which must outlive the batches.
  FashionMnistBatches(const data::ImageSet& train, int64_t batch_size, uint64_t seed, int64_t crop_padding,
                      bool horizontal_flip);
  FashionMnistBatches(data::ImageSet&&, int64_t, uint64_t, int64_t, bool) = delete;
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  // images (B, 1, H, W) augmented, labels (B); with a shard, its rows [shard.rows(B)) of the batch
  // (augmented as in the whole batch).
  data::ImageSet batch(int64_t step, const Shard& shard = {});

 private:
  const data::ImageSet& train_;
  int64_t batch_size_, steps_per_epoch_, crop_padding_;
  bool horizontal_flip_;
  uint64_t seed_;
  int64_t cached_epoch_ = -1;
  std::vector<int64_t> cached_order_;
};

// Images (B, 1, H, W) shifted and flipped as above; `images` is not modified.
Tensor<float> augment_images(const Tensor<float>& images, int64_t crop_padding, bool horizontal_flip,
                             Generator& generator);

// set.images (N, H, W) rows `begin .. begin + count` of `order` (or of 0 .. N-1 when `order` is
// empty) -> images (count, 1, H, W) and labels (count).
data::ImageSet image_batch(const data::ImageSet& set, const std::vector<int64_t>& order, int64_t begin, int64_t count);

// Fraction of `set` classified correctly, in evaluation mode without the tape; the model's mode
// is restored.
// With `group` (data-parallel training: the Trainer's ranks), rank r of R scores its 1/R of the
// items and the ranks gather the counts: every rank returns what one process would.
double evaluate_accuracy(models::ImageClassifier<float>& model, const data::ImageSet& set, int64_t batch_size = 500,
                         distributed::Communicator* group = nullptr);

// Trains `model` with the Trainer on data.train, validating on data.validation after each
// epoch, then loads the best model back into `model` and scores it on data.test. OUT/metrics.jsonl
// holds the Trainer's line per epoch (step, loss, learning_rate, train_seconds,
// items_per_second, epoch, train_accuracy, val_accuracy), then {"step": best_step,
// "test_accuracy"}. A resumed run must resume from OUT/checkpoint.safetensors.
FashionMnistResult train_fashion_mnist(models::ImageClassifier<float>& model, const data::FashionMnist& data,
                                       const FashionMnistTrainingOptions& options);

}  // namespace attend::train
