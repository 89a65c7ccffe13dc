#include "attend/train/text_classification.h"

#include <algorithm>
#include <cmath>
#include <numeric>

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

// The row-wise argmax of logits (B, C).
std::vector<int64_t> argmax_rows(const Tensor<float>& logits) {
  const Tensor<float> values = logits.contiguous();
  const int64_t rows = values.size(0), classes = values.size(1);
  std::vector<int64_t> predicted(rows);
  for (int64_t b = 0; b < rows; ++b) {
    const float* row = values.data() + b * classes;
    predicted[b] = std::max_element(row, row + classes) - row;
  }
  return predicted;
}

std::vector<text::Encoding> gather(const std::vector<text::Encoding>& texts, const std::vector<int64_t>& order,
                                   int64_t begin, int64_t end) {
  std::vector<text::Encoding> batch;
  for (int64_t i = begin; i < end; ++i) batch.push_back(texts[order[i]]);
  return batch;
}

}  // namespace

ClassificationMetrics classification_metrics(const std::vector<int64_t>& truth, const std::vector<int64_t>& predicted,
                                             int64_t classes) {
  ATTEND_CHECK(truth.size() == predicted.size() && !truth.empty(), ValueError,
               "classification metrics: {} labels and {} predictions (need as many, at least one)", truth.size(),
               predicted.size());
  ATTEND_CHECK(classes >= 1, ValueError, "classification metrics: {} classes", classes);
  ClassificationMetrics m;
  m.confusion.assign(classes, std::vector<int64_t>(classes, 0));
  int64_t correct = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    ATTEND_CHECK(truth[i] >= 0 && truth[i] < classes && predicted[i] >= 0 && predicted[i] < classes, ValueError,
                 "classification metrics: item {} has label {} and prediction {}; classes are 0 to {}", i, truth[i],
                 predicted[i], classes - 1);
    ++m.confusion[truth[i]][predicted[i]];
    correct += truth[i] == predicted[i];
  }
  m.accuracy = static_cast<double>(correct) / static_cast<double>(truth.size());
  double f1_sum = 0;
  for (int64_t c = 0; c < classes; ++c) {
    int64_t predicted_c = 0, actual_c = 0;
    for (int64_t k = 0; k < classes; ++k) {
      predicted_c += m.confusion[k][c];
      actual_c += m.confusion[c][k];
    }
    // F1 = 2 TP / (predicted + actual); 0 when the class is neither predicted nor present.
    if (predicted_c + actual_c > 0) f1_sum += 2.0 * m.confusion[c][c] / static_cast<double>(predicted_c + actual_c);
  }
  m.macro_f1 = f1_sum / static_cast<double>(classes);
  return m;
}

EncodedTexts encode_splits(const data::LabelledSplits& splits, const text::BertTokenizer& tokenizer,
                           int64_t max_length) {
  ATTEND_CHECK(max_length >= 2, ValueError, "classify: max_length must be at least 2 ([CLS] and [SEP]), got {}",
               max_length);
  EncodedTexts encoded;
  encoded.class_names = splits.class_names;
  const text::EncodeOptions options{max_length, true};
  for (const auto& [records, split] :
       {std::pair{&splits.train, &encoded.train}, {&splits.dev, &encoded.dev}, {&splits.test, &encoded.test}}) {
    for (const data::LabelledText& record : *records) {
      split->texts.push_back(tokenizer.encode(record.text, options));
      split->labels.push_back(record.label);
      encoded.truncated += split->texts.back().truncated;
    }
  }
  return encoded;
}

ClassificationMetrics evaluate_classifier(models::TextClassifier& model, const EncodedSplit& split, int64_t batch_size,
                                          int64_t limit, distributed::Communicator* group) {
  ATTEND_CHECK(batch_size >= 1 && limit >= 0, ValueError, "evaluate: batch size {} must be >= 1 and limit {} >= 0",
               batch_size, limit);
  const int64_t all = static_cast<int64_t>(split.texts.size());
  const int64_t count = limit > 0 ? std::min<int64_t>(limit, all) : all;
  ATTEND_CHECK(count >= 1, ValueError, "evaluate: the split has no texts");
  // The texts scored: all, or `count` spread evenly over the split (files are often sorted by class).
  std::vector<int64_t> chosen(count);  // ascending
  for (int64_t i = 0; i < count; ++i) chosen[i] = i * all / count;
  std::vector<int64_t> order = chosen;  // by length, for less padding
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return split.texts[a].ids.size() < split.texts[b].ids.size(); });
  // This rank's positions [first, last) of `order`; every rank's part padded to `part` rows.
  const int64_t ranks = group ? group->size() : 1, rank = group ? group->rank() : 0;
  const int64_t first = rank * count / ranks, last = (rank + 1) * count / ranks, part = (count + ranks - 1) / ranks;
  const int64_t classes = model.config().classes;
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  std::vector<float> mine(static_cast<size_t>(part * classes));  // (part, C): logits of positions first..
  for (int64_t begin = first; begin < last; begin += batch_size) {
    const int64_t end = std::min(last, begin + batch_size);
    const std::vector<float> logits = model.forward(gather(split.texts, order, begin, end)).logits.to_vector();
    std::copy(logits.begin(), logits.end(), mine.begin() + (begin - first) * classes);  // (b, C)
  }
  model.train(was_training);
  const std::vector<float> parts = ranks > 1 ? group->all_gather(mine) : mine;  // (R, part, C)
  // The logits (count, C) and labels in the order of `chosen` (ascending split index).
  std::vector<float> logits(static_cast<size_t>(count * classes));
  std::vector<int64_t> truth(count);
  for (int64_t r = 0; r < ranks; ++r) {
    for (int64_t position = r * count / ranks; position < (r + 1) * count / ranks; ++position) {
      const int64_t slot = std::lower_bound(chosen.begin(), chosen.end(), order[position]) - chosen.begin();
      const float* row = parts.data() + (r * part + position - r * count / ranks) * classes;
      std::copy(row, row + classes, logits.begin() + slot * classes);
      truth[slot] = split.labels[order[position]];
    }
  }
  const Tensor<float> all_logits = Tensor<float>::from_vector({count, classes}, logits);  // (count, C)
  ClassificationMetrics metrics = classification_metrics(truth, argmax_rows(all_logits), classes);
  metrics.loss = cross_entropy(all_logits, IndexTensor::from_vector({count}, truth)).item();
  return metrics;
}

namespace {

// The task the recipe runs (train/recipe.h): batches of texts in an epoch order (shards dealt by
// length, so that they cost alike), cross-entropy, dev metrics, and the training accuracy since
// the last evaluation.
class TextClassificationTask : public TrainingTask {
 public:
  TextClassificationTask(models::TextClassifier& model, const EncodedTexts& data, const ClassifyTrainingOptions& o)
      : model_(model),
        data_(data),
        o_(o),
        texts_(static_cast<int64_t>(data.train.texts.size())),
        steps_per_epoch_((texts_ + o.batch_size - 1) / o.batch_size) {}

  BatchLoss batch_loss(int64_t step, const Shard& shard) override {
    const int64_t epoch = step / steps_per_epoch_, batch_begin = step % steps_per_epoch_ * o_.batch_size;
    if (epoch != order_epoch_) {
      order_ = epoch_order(texts_, o_.seed, epoch);
      order_epoch_ = epoch;
    }
    // The batch's texts order[batch_begin, batch_end), then the shard's.
    const int64_t batch_end = std::min(texts_, batch_begin + o_.batch_size);
    std::vector<int64_t> picked(order_.begin() + batch_begin, order_.begin() + batch_end), lengths;
    if (shard.count > 1) {
      for (const int64_t t : picked) lengths.push_back(static_cast<int64_t>(data_.train.texts[t].ids.size()));
      std::vector<int64_t> mine;
      for (const int64_t position : shard.dealt(lengths)) mine.push_back(picked[position]);
      picked = std::move(mine);
    }
    const int64_t count = static_cast<int64_t>(picked.size());
    std::vector<int64_t> labels;
    int64_t tokens = 0;
    for (const int64_t t : picked) {
      labels.push_back(data_.train.labels[t]);
      tokens += static_cast<int64_t>(data_.train.texts[t].ids.size());
    }
    const Tensor<float> logits = model_.forward(gather(data_.train.texts, picked, 0, count)).logits;  // (B, C)
    const std::vector<int64_t> predicted = argmax_rows(logits.detach());
    for (size_t i = 0; i < labels.size(); ++i) correct_ += predicted[i] == labels[i];
    seen_ += static_cast<int64_t>(labels.size());
    return BatchLoss{cross_entropy(logits, IndexTensor::from_vector({count}, labels)), tokens};
  }
  Metrics evaluate() override {
    const ClassificationMetrics dev =
        evaluate_classifier(model_, data_.dev, o_.eval_batch_size, 0, &distributed::world());
    const Metrics metrics = {{"dev_accuracy", dev.accuracy},
                             {"dev_macro_f1", dev.macro_f1},
                             {"dev_loss", dev.loss},
                             {"train_accuracy", accuracy_over_ranks(correct_, seen_)}};
    correct_ = seen_ = 0;
    return metrics;
  }

 private:
  models::TextClassifier& model_;
  const EncodedTexts& data_;
  const ClassifyTrainingOptions& o_;
  int64_t texts_, steps_per_epoch_;
  std::vector<int64_t> order_;
  int64_t order_epoch_ = -1, correct_ = 0, seen_ = 0;
};

}  // namespace

ClassifyResult train_text_classifier(models::TextClassifier& model, const EncodedTexts& data,
                                     const ClassifyTrainingOptions& o) {
  const int64_t texts = static_cast<int64_t>(data.train.texts.size());
  ATTEND_CHECK(o.steps >= 1 && o.batch_size >= 1 && o.eval_batch_size >= 1 && o.eval_every >= 0 && o.patience >= 0,
               ValueError,
               "train classify: steps ({}), batch ({}) and eval batch ({}) must be >= 1, eval-every ({}) and patience "
               "({}) >= 0",
               o.steps, o.batch_size, o.eval_batch_size, o.eval_every, o.patience);
  ATTEND_CHECK(texts >= 1 && !data.dev.texts.empty() && !data.test.texts.empty(), ValueError,
               "train classify: every split needs texts (train {}, dev {}, test {})", texts, data.dev.texts.size(),
               data.test.texts.size());
  ATTEND_CHECK(static_cast<int64_t>(data.class_names.size()) == model.config().classes, ValueError,
               "train classify: the data has {} classes, the model {}", data.class_names.size(),
               model.config().classes);
  const int64_t warmup = o.warmup_steps > 0 ? o.warmup_steps : std::max<int64_t>(1, o.steps * 6 / 100);
  ATTEND_CHECK(warmup < std::max<int64_t>(o.steps, 2), ValueError,
               "train classify: warm-up ({} steps) must be shorter than the run ({})", warmup, o.steps);

  AdamWOptions adam;
  adam.learning_rate = o.learning_rate;
  adam.weight_decay = o.weight_decay;
  adam.weight_decay_applies = decays_unless_bias_or_norm;
  AdamW<float> optimizer(model.named_parameters(), adam);
  const WarmupLinearSchedule schedule(o.learning_rate, warmup, std::max(o.steps, warmup + 1));

  RecipeSettings settings;
  settings.task = "train classify";
  settings.steps = o.steps;
  settings.eval_every = o.eval_every;
  settings.clip_norm = o.clip_norm;
  settings.best_metric = "dev_macro_f1";
  settings.higher_is_better = true;
  settings.items_name = "tok";
  settings.batch_size = o.batch_size;
  settings.training_items = texts;
  settings.items_noun = "texts";
  settings.settings = shared_settings(o.batch_size, o.seed, o.learning_rate, warmup, o.weight_decay, o.clip_norm);
  uint64_t data_hash = distributed::kFingerprintStart;
  for (int64_t i = 0; i < texts; ++i) {
    const std::vector<int64_t>& ids = data.train.texts[i].ids;
    data_hash = distributed::fingerprint_bytes(ids.data(), sizeof(int64_t) * ids.size(), data_hash);
  }
  settings.data_fingerprint = fmt::format("{} training texts, {:016x}", texts, data_hash);
  settings.restore_best = true;  // dev and test below score the best model
  TextClassificationTask task(model, data, o);
  const TrainerResult trained = run_recipe(model, optimizer, schedule, o, settings, task);

  ClassifyResult result;
  result.steps = trained.steps;
  result.best_step = trained.best_step;
  result.train_seconds = trained.train_seconds;
  result.stopped_early = trained.stopped_early;
  result.dev = evaluate_classifier(model, data.dev, o.eval_batch_size, 0, &distributed::world());
  result.test = evaluate_classifier(model, data.test, o.eval_batch_size, 0, &distributed::world());
  result.tokens_per_second = trained.items_per_second;
  record_test_metrics(
      o, result.best_step,
      {{"accuracy", result.test.accuracy}, {"macro_f1", result.test.macro_f1}, {"loss", result.test.loss}});
  return result;
}

}  // namespace attend::train
