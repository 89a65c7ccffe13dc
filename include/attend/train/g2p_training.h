// The grapheme-to-phoneme recipe: any G2PModel (the Transformer of models/g2p.h or the GRU with
// attention of models/g2p_recurrent.h) trained on the CMU Pronouncing Dictionary (data/cmudict.h)
// with AdamW, warm-up + inverse-square-root or cosine learning rate, label smoothing and gradient clipping;
// evaluated by phoneme and word error rates.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "attend/data/cmudict.h"
#include "attend/io/safetensors.h"
#include "attend/models/g2p_model.h"
#include "attend/models/g2p_recurrent.h"
#include "attend/train/trainer.h"

namespace attend::train {

// RunOptions (trainer.h: out_dir, resume_from, time limit, TensorBoard, ...), then the task's own.
struct G2PTrainingOptions : RunOptions {
  std::string data_path;        // cmudict.dict; empty: data::default_cmudict_path()
  int64_t steps = 20000;        // optimizer steps
  int64_t batch_size = 64;      // words per step
  double learning_rate = 1e-3;  // peak, reached at the end of warm-up
  int64_t warmup_steps = 1000;
  // After warm-up: "inverse-sqrt" (Vaswani et al.) or "cosine" down to minimum_learning_rate at
  // `steps`, or at the time limit when schedule_by_time and that comes first (trainer.h).
  std::string schedule = "inverse-sqrt";
  double minimum_learning_rate = 0;
  double clip_norm = 1.0;
  double label_smoothing = 0.1;
  double weight_decay = 0.01;
  uint64_t seed = 1;
  int64_t eval_every = 2000;  // steps between dev evaluations (0: only at the end)
  int64_t eval_words = 0;     // dev words per evaluation, the same each time (0: all)
  // Pictures logged to TensorBoard at each evaluation (the command line draws attention maps).
  std::function<std::vector<EvalImage>(models::G2PModel<float>&)> eval_images;
};

struct G2PMetrics {
  double phoneme_error_rate = 0;  // sum of edit distances to the closest reference / their lengths
  double word_error_rate = 0;     // fraction of words matching none of their references
  int64_t words = 0;
};

struct G2PTrainingResult {
  G2PMetrics dev;       // the last evaluation (all dev words)
  G2PMetrics best_dev;  // the best evaluation, by WER (the model in model.safetensors)
  int64_t best_step = 0;
  int64_t steps = 0;
  double train_seconds = 0;  // evaluations excluded
  double target_tokens_per_second = 0;
  int64_t parameters = 0;
};

// The training words as (source, phonemes) id pairs, one per pronunciation, and the order in
// which the Trainer sees them: batch `step` holds positions [step B, (step + 1) B) of an endless
// sequence of epochs. Each epoch is a seeded shuffle, cut into chunks of 32 batches, each chunk
// sorted by length (less padding), and the batches of the epoch shuffled again. A pure
// function of (seed, step), so that resumed runs see the same batches.
class G2PBatches {
 public:
  G2PBatches(const std::vector<data::DictionaryEntry>& entries, int64_t batch_size, uint64_t seed);
  struct Batch {
    IndexTensor source;      // (B, S) letters + </s>, padded
    IndexTensor target_in;   // (B, T) <s> + phonemes, padded
    IndexTensor target_out;  // (B, T) phonemes + </s>, padded
    int64_t target_tokens = 0;
  };
  // Batch `step`, or its shard's words (Shard::dealt by source + target length), padded to the
  // shard's own longest.
  Batch batch(int64_t step, const Shard& shard = {});
  int64_t examples() const { return static_cast<int64_t>(sources_.size()); }

 private:
  const std::vector<int64_t>& epoch_order(int64_t epoch);
  std::vector<std::vector<int64_t>> sources_, phonemes_;
  int64_t batch_size_;
  uint64_t seed_;
  int64_t cached_epoch_ = -1;
  std::vector<int64_t> cached_order_;
};

// Greedy (beam_size 1) or beam-search decoding of `entries`, scored against all their
// pronunciations (a word's result does not depend on the words decoded beside it).
// With `group` (data-parallel training: the Trainer's ranks), rank r of R scores its 1/R of the
// items and the ranks gather the counts: every rank returns what one process would.
G2PMetrics evaluate_g2p(models::G2PModel<float>& model, const std::vector<data::DictionaryEntry>& entries,
                        int64_t beam_size = 1, int64_t max_words = 0, distributed::Communicator* group = nullptr);

// Perplexity exp(mean -log p(y_t)) of the first pronunciation of each of `entries` (the first
// max_words; 0: all), teacher forced, under the distribution the recurrent model decodes with
// (the marginal under the prior for latent alignments): the measure of Deng et al.'s Table 1.
double recurrent_perplexity(models::G2PRecurrent<float>& model, const std::vector<data::DictionaryEntry>& entries,
                            int64_t max_words = 0);

// Trains with train/trainer.h and returns the dev metrics; the model is trained in place and,
// when out_dir is set, model.safetensors holds the best one by dev WER.
G2PTrainingResult train_g2p(models::G2PModel<float>& model, const data::PronouncingDictionary& dictionary,
                            const G2PTrainingOptions& options);

// Phonemes for any word made of letters a-z and apostrophes (ValueError otherwise).
std::vector<std::string> pronounce(models::G2PModel<float>& model, const std::string& word, int64_t beam_size = 1);

}  // namespace attend::train
