#include "attend/train/g2p_training.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "attend/autograd/autograd.h"
#include "attend/core/error.h"
#include "attend/ops/loss.h"
#include "attend/train/lr_schedule.h"
#include "attend/train/optimizer.h"
#include "attend/train/progress.h"

namespace attend::train {
namespace {

using models::Vocabulary;

struct Example {
  std::vector<int64_t> source;   // letters + </s>
  std::vector<int64_t> phonemes;  // without markers
};

std::vector<Example> make_examples(const std::vector<data::DictionaryEntry>& entries, const Vocabulary& letters,
                                   const Vocabulary& phonemes) {
  std::vector<Example> examples;
  for (const auto& entry : entries) {
    const std::vector<int64_t> source = models::encode_word(letters, entry.word);
    for (const auto& pronunciation : entry.pronunciations) {
      Example example{source, {}};
      for (const auto& p : pronunciation) example.phonemes.push_back(phonemes.id(p));
      examples.push_back(std::move(example));
    }
  }
  return examples;
}

}  // namespace

G2PMetrics evaluate_g2p(models::G2PTransformer<float>& model, const std::vector<data::DictionaryEntry>& entries,
                        int64_t beam_size, int64_t max_words) {
  const Vocabulary letters = models::letter_vocabulary(), phonemes = models::phoneme_vocabulary();
  const size_t count = max_words > 0 ? std::min<size_t>(entries.size(), static_cast<size_t>(max_words)) : entries.size();
  int64_t errors = 0, reference_length = 0, wrong_words = 0;
  const size_t batch = 128;
  for (size_t begin = 0; begin < count; begin += batch) {
    const size_t end = std::min(count, begin + batch);
    std::vector<std::vector<int64_t>> hypotheses;
    if (beam_size <= 1) {
      std::vector<std::vector<int64_t>> sources;
      for (size_t i = begin; i < end; ++i) sources.push_back(models::encode_word(letters, entries[i].word));
      hypotheses = model.greedy_decode(models::pad_batch(sources), model.config().max_length);
    } else {
      for (size_t i = begin; i < end; ++i) {
        hypotheses.push_back(model.beam_search(models::pad_batch({models::encode_word(letters, entries[i].word)}), beam_size,
                                               model.config().max_length));
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
  G2PMetrics metrics;
  metrics.words = static_cast<int64_t>(count);
  metrics.phoneme_error_rate = reference_length > 0 ? static_cast<double>(errors) / reference_length : 0;
  metrics.word_error_rate = count > 0 ? static_cast<double>(wrong_words) / count : 0;
  return metrics;
}

G2PTrainingResult train_g2p(models::G2PTransformer<float>& model, const data::PronouncingDictionary& dictionary,
                            const G2PTrainingOptions& o) {
  ATTEND_CHECK(o.steps >= 1 && o.batch_size >= 1, ValueError, "train g2p: steps ({}) and batch size ({}) must be >= 1",
               o.steps, o.batch_size);
  const Vocabulary letters = models::letter_vocabulary(), phonemes = models::phoneme_vocabulary();
  const std::vector<Example> examples = make_examples(dictionary.train, letters, phonemes);
  ATTEND_CHECK(!examples.empty(), ValueError, "train g2p: the training split is empty");
  std::ofstream metrics_file;
  if (!o.out_dir.empty()) {
    std::filesystem::create_directories(o.out_dir);
    metrics_file.open(std::filesystem::path(o.out_dir) / "metrics.jsonl", std::ios::app);
    ATTEND_CHECK(metrics_file.good(), ValueError, "train g2p: cannot write metrics to '{}'", o.out_dir);
  }

  AdamWOptions adam;
  adam.learning_rate = o.learning_rate;
  adam.beta2 = 0.98;  // as Vaswani et al.
  adam.weight_decay = o.weight_decay;
  AdamW<float> optimizer(model.named_parameters(), adam);
  const WarmupInverseSqrtSchedule schedule(o.learning_rate, o.warmup_steps);
  Generator shuffle(o.seed);
  std::vector<size_t> order(examples.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  size_t cursor = order.size();  // reshuffle before the first batch

  CrossEntropyOptions loss_options;
  loss_options.ignore_index = Vocabulary::kPad;
  loss_options.label_smoothing = o.label_smoothing;
  ProgressBar progress(o.steps);
  G2PTrainingResult result;
  result.parameters = model.parameter_count();
  int64_t target_tokens = 0;
  double running_loss = 0;
  model.train();
  int64_t step = 0;
  for (; step < o.steps; ++step) {
    std::vector<std::vector<int64_t>> sources, inputs, outputs;
    for (int64_t b = 0; b < o.batch_size; ++b) {
      if (cursor == order.size()) {
        for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[shuffle.uniform_int(i + 1)]);
        cursor = 0;
      }
      const Example& e = examples[order[cursor++]];
      sources.push_back(e.source);
      std::vector<int64_t> in = {Vocabulary::kStart}, out = e.phonemes;
      in.insert(in.end(), e.phonemes.begin(), e.phonemes.end());
      out.push_back(Vocabulary::kEnd);
      target_tokens += static_cast<int64_t>(out.size());
      inputs.push_back(std::move(in));
      outputs.push_back(std::move(out));
    }
    optimizer.set_learning_rate(schedule.learning_rate(step));
    const Tensor<float> logits = model.forward(models::pad_batch(sources), models::pad_batch(inputs));  // (B, T, V)
    const Tensor<float> loss = cross_entropy(logits, models::pad_batch(outputs), loss_options);
    optimizer.zero_grad();
    loss.backward();
    if (o.clip_norm > 0) clip_grad_norm(optimizer.parameters(), o.clip_norm);
    optimizer.step();
    running_loss = step == 0 ? loss.item() : 0.98 * running_loss + 0.02 * loss.item();
    progress.update(step + 1, running_loss, target_tokens);

    const bool last = step + 1 == o.steps;
    const bool out_of_time = o.time_limit_seconds > 0 && progress.elapsed_seconds() > o.time_limit_seconds;
    if ((o.eval_every > 0 && (step + 1) % o.eval_every == 0) || last || out_of_time) {
      const G2PMetrics dev = evaluate_g2p(model, dictionary.dev, 1, last || out_of_time ? 0 : o.eval_words);
      model.train();
      result.dev = dev;
      if (metrics_file.is_open()) {
        metrics_file << fmt::format(
            "{{\"step\": {}, \"loss\": {:.6f}, \"learning_rate\": {:.6g}, \"dev_per\": {:.6f}, \"dev_wer\": {:.6f}, "
            "\"dev_words\": {}, \"seconds\": {:.1f}}}\n",
            step + 1, running_loss, optimizer.learning_rate(), dev.phoneme_error_rate, dev.word_error_rate, dev.words,
            progress.elapsed_seconds());
        metrics_file.flush();
      }
      fmt::print(stderr, "\nstep {}: dev PER {:.2f}% WER {:.2f}% ({} words)\n", step + 1, 100 * dev.phoneme_error_rate,
                 100 * dev.word_error_rate, dev.words);
    }
    if (out_of_time) {
      ++step;
      break;
    }
  }
  progress.finish();
  model.eval();
  result.steps = step;
  result.seconds = progress.elapsed_seconds();
  result.target_tokens_per_second = result.seconds > 0 ? target_tokens / result.seconds : 0;
  return result;
}

std::vector<std::string> pronounce(models::G2PTransformer<float>& model, const std::string& word, int64_t beam_size) {
  const Vocabulary letters = models::letter_vocabulary(), phonemes = models::phoneme_vocabulary();
  const IndexTensor source = models::pad_batch({models::encode_word(letters, word)});
  const std::vector<int64_t> ids = beam_size > 1 ? model.beam_search(source, beam_size, model.config().max_length)
                                                 : model.greedy_decode(source, model.config().max_length)[0];
  std::vector<std::string> out;
  for (int64_t id : ids) out.push_back(phonemes.symbol(id));
  return out;
}

}  // namespace attend::train
