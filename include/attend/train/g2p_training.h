// The grapheme-to-phoneme recipe: an encoder-decoder Transformer trained on the CMU Pronouncing
// Dictionary (data/cmudict.h) with AdamW, warm-up + inverse-square-root learning rate, label
// smoothing and gradient clipping; evaluated by phoneme and word error rates.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attend/data/cmudict.h"
#include "attend/models/g2p.h"

namespace attend::train {

struct G2PTrainingOptions {
  std::string data_path;         // cmudict.dict; empty: data::default_cmudict_path()
  std::string out_dir;           // metrics.jsonl and checkpoints; empty: none written
  int64_t steps = 20000;         // optimizer steps
  int64_t batch_size = 64;       // words per step
  double learning_rate = 1e-3;   // peak, reached at the end of warm-up
  int64_t warmup_steps = 1000;
  double clip_norm = 1.0;
  double label_smoothing = 0.1;
  double weight_decay = 0.01;
  uint64_t seed = 1;
  int64_t eval_every = 2000;     // steps between dev evaluations (0: only at the end)
  int64_t eval_words = 1000;     // dev words per evaluation (0: all)
  double time_limit_seconds = 0;  // stop early once exceeded (0: none)
  models::G2PConfig model;
};

struct G2PMetrics {
  double phoneme_error_rate = 0;  // sum of edit distances to the closest reference / their lengths
  double word_error_rate = 0;     // fraction of words matching none of their references
  int64_t words = 0;
};

struct G2PTrainingResult {
  G2PMetrics dev;
  int64_t steps = 0;
  double seconds = 0;
  double target_tokens_per_second = 0;
  int64_t parameters = 0;
};

// Greedy (beam_size 1) or beam-search decoding of `entries`, scored against all their
// pronunciations.
G2PMetrics evaluate_g2p(models::G2PTransformer<float>& model, const std::vector<data::DictionaryEntry>& entries,
                        int64_t beam_size = 1, int64_t max_words = 0);

// Trains and returns the final dev metrics; the model is trained in place.
G2PTrainingResult train_g2p(models::G2PTransformer<float>& model, const data::PronouncingDictionary& dictionary,
                            const G2PTrainingOptions& options);

// Phonemes for any word made of letters a-z and apostrophes (ValueError otherwise).
std::vector<std::string> pronounce(models::G2PTransformer<float>& model, const std::string& word, int64_t beam_size = 1);

}  // namespace attend::train
