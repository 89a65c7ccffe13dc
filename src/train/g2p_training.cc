#include "attend/train/g2p_training.h"

#include <algorithm>
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
#include "attend/train/trainer.h"

namespace attend::train {

using models::Vocabulary;

G2PBatches::G2PBatches(const std::vector<data::DictionaryEntry>& entries, int64_t batch_size, uint64_t seed)
    : batch_size_(batch_size), seed_(seed) {
  ATTEND_CHECK(batch_size >= 1, ValueError, "train g2p: batch size must be >= 1, got {}", batch_size);
  const Vocabulary letters = models::letter_vocabulary(), phonemes = models::phoneme_vocabulary();
  for (const auto& entry : entries) {
    const std::vector<int64_t> source = models::encode_word(letters, entry.word);
    for (const auto& pronunciation : entry.pronunciations) {
      std::vector<int64_t> ids;
      for (const auto& p : pronunciation) ids.push_back(phonemes.id(p));
      sources_.push_back(source);
      phonemes_.push_back(std::move(ids));
    }
  }
  ATTEND_CHECK(!sources_.empty(), ValueError, "train g2p: the training split is empty");
}

const std::vector<int64_t>& G2PBatches::epoch_order(int64_t epoch) {
  if (epoch == cached_epoch_) return cached_order_;
  const int64_t n = examples();
  Generator shuffle(seed_ ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(epoch + 1)));
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[shuffle.uniform_int(i + 1)]);
  // Chunks of 32 batches sorted by length: batches of similar words waste little on padding.
  const int64_t chunk = 32 * batch_size_;
  const auto length = [&](int64_t i) { return sources_[i].size() + phonemes_[i].size(); };
  for (int64_t begin = 0; begin < n; begin += chunk) {
    std::stable_sort(order.begin() + begin, order.begin() + std::min(n, begin + chunk),
                     [&](int64_t x, int64_t y) { return length(x) < length(y); });
  }
  // Then the batches in a random order, so that lengths do not rise and fall with the chunks.
  const int64_t batches = (n + batch_size_ - 1) / batch_size_;
  std::vector<int64_t> batch_order(batches);
  for (int64_t i = 0; i < batches; ++i) batch_order[i] = i;
  for (int64_t i = batches - 1; i > 0; --i) std::swap(batch_order[i], batch_order[shuffle.uniform_int(i + 1)]);
  cached_order_.clear();
  for (int64_t b : batch_order) {
    for (int64_t i = b * batch_size_; i < std::min(n, (b + 1) * batch_size_); ++i) cached_order_.push_back(order[i]);
  }
  cached_epoch_ = epoch;
  return cached_order_;
}

G2PBatches::Batch G2PBatches::batch(int64_t step, const Shard& shard) {
  const int64_t n = examples();
  std::vector<std::vector<int64_t>> sources, inputs, outputs;
  Batch batch;
  // The batch's examples, then the shard's: dealt by length (source + target), so that shards
  // cost alike and pad little.
  std::vector<int64_t> examples_of_batch, lengths;
  for (int64_t b = 0; b < batch_size_; ++b) {
    const int64_t position = step * batch_size_ + b;
    examples_of_batch.push_back(epoch_order(position / n)[position % n]);
    lengths.push_back(
        static_cast<int64_t>(sources_[examples_of_batch.back()].size() + phonemes_[examples_of_batch.back()].size()));
  }
  std::vector<int64_t> rows(examples_of_batch.size());
  for (size_t b = 0; b < rows.size(); ++b) rows[b] = static_cast<int64_t>(b);
  if (shard.count > 1) rows = shard.dealt(lengths);
  for (const int64_t b : rows) {
    const int64_t example = examples_of_batch[b];
    sources.push_back(sources_[example]);
    std::vector<int64_t> in = {Vocabulary::kStart}, out = phonemes_[example];
    in.insert(in.end(), phonemes_[example].begin(), phonemes_[example].end());
    out.push_back(Vocabulary::kEnd);
    batch.target_tokens += static_cast<int64_t>(out.size());
    inputs.push_back(std::move(in));
    outputs.push_back(std::move(out));
  }
  batch.source = models::pad_batch(sources);
  batch.target_in = models::pad_batch(inputs);
  batch.target_out = models::pad_batch(outputs);
  return batch;
}

G2PMetrics evaluate_g2p(models::G2PModel<float>& model, const std::vector<data::DictionaryEntry>& entries,
                        int64_t beam_size, int64_t max_words, distributed::Communicator* group) {
  const Vocabulary letters = models::letter_vocabulary(), phonemes = models::phoneme_vocabulary();
  const size_t count =
      max_words > 0 ? std::min<size_t>(entries.size(), static_cast<size_t>(max_words)) : entries.size();
  // This rank's words [first, last).
  const size_t ranks = group ? static_cast<size_t>(group->size()) : 1,
               rank = group ? static_cast<size_t>(group->rank()) : 0;
  const size_t first = rank * count / ranks, last = (rank + 1) * count / ranks;
  int64_t errors = 0, reference_length = 0, wrong_words = 0;
  const size_t batch = 128;
  for (size_t begin = first; begin < last; begin += batch) {
    const size_t end = std::min(last, begin + batch);
    std::vector<std::vector<int64_t>> hypotheses;
    if (beam_size <= 1) {
      std::vector<std::vector<int64_t>> sources;
      for (size_t i = begin; i < end; ++i) sources.push_back(models::encode_word(letters, entries[i].word));
      hypotheses = model.greedy_decode(models::pad_batch(sources), model.max_length());
    } else {
      for (size_t i = begin; i < end; ++i) {
        hypotheses.push_back(model.beam_search(models::pad_batch({models::encode_word(letters, entries[i].word)}),
                                               beam_size, model.max_length()));
      }
    }
    for (size_t i = begin; i < end; ++i) {
      int64_t best = INT64_MAX, best_length = 1;
      for (const auto& pronunciation : entries[i].pronunciations) {
        std::vector<int64_t> reference;
        for (const auto& p : pronunciation) reference.push_back(phonemes.id(p));
        const int64_t distance = models::edit_distance(hypotheses[i - begin], reference);
        if (distance < best) {
          best = distance;
          best_length = static_cast<int64_t>(reference.size());
        }
      }
      errors += best;
      reference_length += best_length;
      wrong_words += best != 0;
    }
  }
  if (group) {
    const std::vector<int64_t> sums = group->sum_counts({errors, reference_length, wrong_words});
    errors = sums[0];
    reference_length = sums[1];
    wrong_words = sums[2];
  }
  G2PMetrics metrics;
  metrics.words = static_cast<int64_t>(count);
  metrics.phoneme_error_rate = reference_length > 0 ? static_cast<double>(errors) / reference_length : 0;
  metrics.word_error_rate = count > 0 ? static_cast<double>(wrong_words) / count : 0;
  return metrics;
}

double recurrent_perplexity(models::G2PRecurrent<float>& model, const std::vector<data::DictionaryEntry>& entries,
                            int64_t max_words) {
  const Vocabulary letters = models::letter_vocabulary(), phonemes = models::phoneme_vocabulary();
  const size_t count =
      max_words > 0 ? std::min<size_t>(entries.size(), static_cast<size_t>(max_words)) : entries.size();
  NoGradGuard no_grad;
  double nll = 0;
  int64_t tokens = 0;
  for (size_t begin = 0; begin < count; begin += 128) {
    const size_t end = std::min(count, begin + 128);
    std::vector<std::vector<int64_t>> sources, inputs, outputs;
    for (size_t i = begin; i < end; ++i) {
      sources.push_back(models::encode_word(letters, entries[i].word));
      inputs.push_back({Vocabulary::kStart});
      outputs.emplace_back();
      for (const std::string& p : entries[i].pronunciations.front()) {
        inputs.back().push_back(phonemes.id(p));
        outputs.back().push_back(phonemes.id(p));
      }
      outputs.back().push_back(Vocabulary::kEnd);
    }
    const IndexTensor target_out = models::pad_batch(outputs);  // (B, T)
    const std::vector<float> log_probs =
        model.decoding_log_probs(models::pad_batch(sources), models::pad_batch(inputs)).to_vector();  // (B, T, V)
    const std::vector<int64_t> y = target_out.to_vector();
    const int64_t v = phonemes.size();
    for (size_t i = 0; i < y.size(); ++i) {
      if (y[i] == Vocabulary::kPad) continue;
      nll -= static_cast<double>(log_probs[i * v + y[i]]);
      ++tokens;
    }
  }
  return tokens > 0 ? std::exp(nll / static_cast<double>(tokens)) : 0.0;
}

namespace {

// The task the recipe runs (train/recipe.h): batches of words sorted into buckets, cross-entropy
// with padding ignored (or, for a recurrent model with a latent alignment, its own objective,
// whose KL, signal variance and marginal perplexity on the training batches it logs), and the dev
// words decoded greedily.
class G2PTask : public TrainingTask {
 public:
  G2PTask(models::G2PModel<float>& model, const data::PronouncingDictionary& dictionary, const G2PTrainingOptions& o)
      : model_(model),
        dictionary_(dictionary),
        o_(o),
        batches_(dictionary.train, o.batch_size, o.seed),
        recurrent_(dynamic_cast<models::G2PRecurrent<float>*>(&model)),
        latent_(recurrent_ && recurrent_->config().alignment != models::AlignmentTraining::kSoft) {
    loss_options_.ignore_index = Vocabulary::kPad;
    loss_options_.label_smoothing = o.label_smoothing;
  }

  BatchLoss batch_loss(int64_t step, const Shard& shard) override {
    const G2PBatches::Batch batch = batches_.batch(step, shard);
    if (latent_) {
      const models::AlignmentLoss<float> objective =
          recurrent_->alignment_loss(batch.source, batch.target_in, batch.target_out);
      const double tokens = static_cast<double>(objective.tokens);
      latent_sums_[0] += objective.kl * tokens;
      latent_sums_[1] += objective.signal_variance * tokens;
      latent_sums_[2] += objective.marginal_nll * tokens;
      latent_sums_[3] += tokens;
      return BatchLoss{objective.loss, batch.target_tokens};
    }
    const Tensor<float> logits = model_.forward(batch.source, batch.target_in);  // (B, T, V)
    return BatchLoss{cross_entropy(logits, batch.target_out, loss_options_), batch.target_tokens};
  }
  // Every evaluation decodes the same dev words greedily, so that they compare for the best model.
  Metrics evaluate() override {
    const G2PMetrics dev = evaluate_g2p(model_, dictionary_.dev, 1, o_.eval_words, &distributed::world());
    Metrics metrics = {
        {"dev_per", dev.phoneme_error_rate}, {"dev_wer", dev.word_error_rate}, {"dev_words", double(dev.words)}};
    if (recurrent_)
      metrics.emplace_back("dev_perplexity", recurrent_perplexity(*recurrent_, dictionary_.dev, o_.eval_words));
    if (latent_) {
      // Over every rank's shards since the last evaluation, summed in rank order.
      const std::vector<double> all = distributed::world().all_gather(latent_sums_);
      std::vector<double> sums(4, 0.0);
      for (size_t i = 0; i < all.size(); ++i) sums[i % 4] += all[i];
      const double tokens = std::max(sums[3], 1.0);
      metrics.emplace_back("train_kl", sums[0] / tokens);
      metrics.emplace_back("train_signal_variance", sums[1] / tokens);
      metrics.emplace_back("train_perplexity", std::exp(sums[2] / tokens));
      std::fill(latent_sums_.begin(), latent_sums_.end(), 0.0);
    }
    return metrics;
  }
  bool has_eval_images() const override { return static_cast<bool>(o_.eval_images); }
  std::vector<EvalImage> eval_images() override { return o_.eval_images(model_); }

 private:
  models::G2PModel<float>& model_;
  const data::PronouncingDictionary& dictionary_;
  const G2PTrainingOptions& o_;
  G2PBatches batches_;
  CrossEntropyOptions loss_options_;
  models::G2PRecurrent<float>* recurrent_;
  bool latent_;
  std::vector<double> latent_sums_ = std::vector<double>(4, 0.0);  // token-weighted KL, variance, NLL; tokens
};

G2PMetrics g2p_metrics(const Metrics& m) {
  G2PMetrics out;
  for (const auto& [name, value] : m) {
    if (name == "dev_per") out.phoneme_error_rate = value;
    if (name == "dev_wer") out.word_error_rate = value;
    if (name == "dev_words") out.words = static_cast<int64_t>(value);
  }
  return out;
}

}  // namespace

G2PTrainingResult train_g2p(models::G2PModel<float>& model, const data::PronouncingDictionary& dictionary,
                            const G2PTrainingOptions& o) {
  ATTEND_CHECK(o.steps >= 1 && o.batch_size >= 1, ValueError, "train g2p: steps ({}) and batch size ({}) must be >= 1",
               o.steps, o.batch_size);
  G2PTask task(model, dictionary, o);

  AdamWOptions adam;
  adam.learning_rate = o.learning_rate;
  adam.beta2 = 0.98;  // as Vaswani et al.
  adam.weight_decay = o.weight_decay;
  AdamW<float> optimizer(model.named_parameters(), adam);
  ATTEND_CHECK(o.schedule == "inverse-sqrt" || o.schedule == "cosine", ValueError,
               "train g2p: schedule must be inverse-sqrt or cosine, got '{}'", o.schedule);
  ATTEND_CHECK(!o.schedule_by_time || o.schedule == "cosine", ValueError,
               "train g2p: --schedule-by-time moves a cosine to the time limit; it needs --schedule cosine");
  ATTEND_CHECK(o.schedule != "cosine" || o.steps > o.warmup_steps, ValueError,
               "train g2p: a cosine schedule needs more steps ({}) than warm-up steps ({})", o.steps, o.warmup_steps);
  std::unique_ptr<LearningRateSchedule> schedule;
  if (o.schedule == "cosine") {
    schedule =
        std::make_unique<WarmupCosineSchedule>(o.learning_rate, o.warmup_steps, o.steps, o.minimum_learning_rate);
  } else {
    schedule = std::make_unique<WarmupInverseSqrtSchedule>(o.learning_rate, o.warmup_steps);
  }

  RecipeSettings settings;
  settings.task = "train g2p";
  settings.steps = o.steps;
  settings.eval_every = o.eval_every;
  settings.clip_norm = o.clip_norm;
  settings.best_metric = "dev_wer";
  settings.items_name = "tok";
  settings.batch_size = o.batch_size;
  settings.settings =
      shared_settings(o.batch_size, o.seed, o.learning_rate, o.warmup_steps, o.weight_decay, o.clip_norm);
  settings.settings.merge(io::Metadata{{"train.schedule", o.schedule},
                                       {"train.minimum_learning_rate", fmt::format("{}", o.minimum_learning_rate)},
                                       {"train.label_smoothing", fmt::format("{}", o.label_smoothing)}});
  uint64_t data_hash = distributed::kFingerprintStart;
  for (const data::DictionaryEntry& entry : dictionary.train)
    data_hash = distributed::fingerprint(entry.word, data_hash);
  settings.data_fingerprint = fmt::format("{} training words, {:016x}", dictionary.train.size(), data_hash);
  // The model ends as the last step left it (the command pronounces with it); model.safetensors
  // holds the best one.
  const TrainerResult trained = run_recipe(model, optimizer, *schedule, o, settings, task);

  G2PTrainingResult result;
  result.dev = g2p_metrics(trained.last);
  result.best_dev = g2p_metrics(trained.best);
  result.best_step = trained.best_step;
  result.steps = trained.steps;
  result.train_seconds = trained.train_seconds;
  result.target_tokens_per_second = trained.items_per_second;
  result.parameters = model.parameter_count();
  return result;
}

std::vector<std::string> pronounce(models::G2PModel<float>& model, const std::string& word, int64_t beam_size) {
  const Vocabulary letters = models::letter_vocabulary(), phonemes = models::phoneme_vocabulary();
  const IndexTensor source = models::pad_batch({models::encode_word(letters, word)});
  const std::vector<int64_t> ids = beam_size > 1 ? model.beam_search(source, beam_size, model.max_length())
                                                 : model.greedy_decode(source, model.max_length())[0];
  std::vector<std::string> out;
  for (int64_t id : ids) out.push_back(phonemes.symbol(id));
  return out;
}

}  // namespace attend::train
