// `attend train g2p`: trains the grapheme-to-phoneme Transformer or GRU (train/g2p_training.h).
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/core/memory.h"
#include "attend/io/safetensors.h"
#include "attend/models/g2p_factory.h"
#include "attend/train/g2p_training.h"
#include "attend/viz/g2p_attention.h"
#include "attend/viz/heatmap.h"
#include "attend/viz/image_format.h"
#include "cli_checks.h"
#include "commands.h"
#include "g2p_cli.h"
#include "run_flags.h"

namespace attend::tools {
namespace {

struct G2PArguments {
  train::G2PTrainingOptions options;
  RunFlags run;
  models::G2PModelSpec model;
  std::string attention = "soft";  // gru: how the alignment is trained
  std::string pronounce;           // comma-separated words to pronounce after training
  int64_t beam = 1;
};

std::string describe_model(const models::G2PModelSpec& spec, int64_t parameters) {
  if (spec.architecture == "gru") {
    const models::G2PRecurrentConfig& r = spec.recurrent;
    return fmt::format("bidirectional GRU encoder, GRU decoder with Bahdanau attention ({}), {} parameters, E={}, H={}",
                       r.alignment == models::AlignmentTraining::kGumbel
                           ? fmt::format("gumbel, temperature {}", r.gumbel_temperature)
                           : models::alignment_training_name(r.alignment),
                       parameters, r.embedding_dim, r.hidden_dim);
  }
  const models::G2PConfig& c = spec.transformer;
  return fmt::format("encoder-decoder Transformer, {} parameters, E={}, {}+{} layers, {} heads", parameters,
                     c.model_dim, c.encoder_layers, c.decoder_layers, c.num_heads);
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
      const viz::AttentionMap* alignment = viz::decoder_alignment(document);
      if (alignment == nullptr) return std::vector<train::EvalImage>{};
      const std::string png = viz::render_heatmap(viz::mean_heatmap(document, *alignment), viz::ImageFormat::kPng);
      return std::vector<train::EvalImage>{
          train::eval_image_from_png("attention/" + word + "/" + alignment->name, png)};
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
  fmt::print("dev ({} words, greedy): PER {:.2f}%  WER {:.2f}%\n", result.dev.words,
             100 * result.dev.phoneme_error_rate, 100 * result.dev.word_error_rate);
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

}  // namespace

CommandRunner add_train_g2p_command(CLI::App& train) {
  auto args = std::make_shared<G2PArguments>();
  CLI::App* g2p = train.add_subcommand(
      "g2p", "grapheme-to-phoneme model (Transformer, or GRU with attention) on the CMU Pronouncing Dictionary");
  auto& o = args->options;
  g2p->add_option("--data", o.data_path,
                  "path of cmudict.dict (default: ATTEND_CMUDICT, else the data directory's; attend info)");
  add_run_flags(*g2p, o, args->run, "best dev WER");
  g2p->add_option("--steps", o.steps, "optimizer steps")->check(integer_in(1, kMaxSteps))->capture_default_str();
  g2p->add_option("--batch", o.batch_size, "words per step")->check(integer_in(1, kMaxG2PBatch))->capture_default_str();
  g2p->add_option("--lr", o.learning_rate, "peak learning rate")->check(positive_real());
  g2p->add_option("--warmup", o.warmup_steps, "warm-up steps")->check(integer_in(1, kMaxSteps))->capture_default_str();
  g2p->add_option("--schedule", o.schedule, "after warm-up: inverse-sqrt, or cosine down to --min-lr at --steps")
      ->check(CLI::IsMember({"inverse-sqrt", "cosine"}));
  g2p->add_option("--min-lr", o.minimum_learning_rate, "cosine: the final learning rate")->check(non_negative_real());
  add_clip_flag(*g2p, o.clip_norm);
  add_eval_every_flag(*g2p, o.eval_every);
  g2p->add_option("--eval-words", o.eval_words, "dev words per evaluation, the same each time (0: all)")
      ->check(integer_in(0, kMaxWords))
      ->capture_default_str();
  g2p->add_option("--label-smoothing", o.label_smoothing,
                  "label smoothing of the cross-entropy (soft attention; the latent objectives have none)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  g2p->add_option("--seed", o.seed, "random seed")->check(unsigned_integer())->capture_default_str();
  add_arch_flag(*g2p, args->model.architecture, "transformer, or gru (bidirectional GRU + Bahdanau attention)",
                CLI::IsMember(models::g2p_architectures()));
  CLI::Option* dim =
      g2p->add_option("--dim", args->model.transformer.model_dim, "model width E (gru: the embedding width)")
          ->check(integer_in(1, kMaxWidth));
  CLI::Option* hidden =
      g2p->add_option("--hidden", args->model.recurrent.hidden_dim, "gru: the hidden width H of every GRU")
          ->check(integer_in(1, kMaxWidth));
  CLI::Option* heads =
      g2p->add_option("--heads", args->model.transformer.num_heads, "attention heads")->check(integer_in(1, kMaxHeads));
  CLI::Option* layers =
      g2p->add_option("--layers", args->model.transformer.encoder_layers, "encoder and decoder layers")
          ->check(integer_in(1, kMaxLayers));
  CLI::Option* ff = g2p->add_option("--ff", args->model.transformer.feedforward_dim, "feed-forward width")
                        ->check(integer_in(1, kMaxWidth));
  g2p->add_option("--dropout", args->model.transformer.dropout, "dropout")->check(CLI::Range(0.0, 0.99));
  CLI::Option* attention =
      g2p->add_option("--attention", args->attention,
                      "gru: how the alignment is trained: soft attention, or attention as a latent variable: the exact "
                      "marginal, hard (REINFORCE), gumbel (Gumbel-softmax), variational-enum or variational-reinforce "
                      "(an inference network and the ELBO; docs/attention.md)")
          ->check(CLI::IsMember(models::alignment_training_names()))
          ->capture_default_str();
  CLI::Option* temperature = g2p->add_option("--gumbel-temperature", args->model.recurrent.gumbel_temperature,
                                             "gru --attention gumbel: the temperature of the Gumbel-softmax")
                                 ->check(positive_real())
                                 ->capture_default_str();
  g2p->add_option("--pronounce", args->pronounce, "comma-separated words to pronounce after training (default: none)");
  g2p->add_option("--beam", args->beam, "beam size for --pronounce")
      ->check(integer_in(1, kMaxBeam))
      ->capture_default_str();

  return [g2p, args, dim, heads, layers, ff, hidden, attention, temperature]() -> int {
    if (!g2p->parsed()) return -1;
    models::G2PModelSpec& model = args->model;
    // A size of the other architecture would be ignored without a word: refuse it.
    const bool gru = model.architecture == "gru";
    for (const CLI::Option* option : gru ? std::vector<const CLI::Option*>{heads, layers, ff}
                                         : std::vector<const CLI::Option*>{hidden, attention, temperature}) {
      ATTEND_CHECK(option->count() == 0, ValueError, "{} does not apply to --arch {}", option->get_name(),
                   model.architecture);
    }
    model.transformer.decoder_layers = model.transformer.encoder_layers;
    // --dim and --dropout are shared; the GRU keeps its own default width unless --dim is given.
    if (dim->count() > 0) model.recurrent.embedding_dim = model.transformer.model_dim;
    model.recurrent.dropout = model.transformer.dropout;
    model.recurrent.alignment = models::parse_alignment_training(args->attention);
    ATTEND_CHECK(temperature->count() == 0 || model.recurrent.alignment == models::AlignmentTraining::kGumbel,
                 ValueError, "--gumbel-temperature applies to --attention gumbel only");
    return run_g2p(*args);
  };
}

}  // namespace attend::tools
