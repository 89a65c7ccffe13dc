// `attend eval CHECKPOINT`: a checkpoint of any task on a held-out split.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/io/safetensors.h"
#include "attend/models/g2p_factory.h"
#include "attend/models/g2p_gguf.h"
#include "attend/train/g2p_training.h"
#include "cli_checks.h"
#include "attend/models/bert_gguf.h"
#include "commands.h"
#include "encoder_model_flags.h"
#include "train_fashion_mnist_command.h"
#include "classify_command.h"
#include "g2p_cli.h"
#include "shipped_models.h"

namespace attend::tools {
namespace {

struct EvalArguments {
  std::string checkpoint;  // empty: the shipped G2P model
  std::string split = "test";
  std::string data_path;
  int64_t beam = 1;
  int64_t words = 0;
  std::string weights = "float32";
};

// PER and WER of a G2P model on a split of CMUdict.
int run_g2p_eval(models::G2PModel<float>& model, const EvalArguments& args) {
  ATTEND_CHECK(args.split != "both", ValueError,
               "attend eval: --split both is for Fashion-MNIST; G2P takes test, dev or train");
  const data::PronouncingDictionary dictionary = load_dictionary(args.data_path);
  const auto& entries = args.split == "test"    ? dictionary.test
                        : args.split == "train" ? dictionary.train
                                                : dictionary.dev;  // dev or validation
  const auto start = std::chrono::steady_clock::now();
  const train::G2PMetrics metrics = train::evaluate_g2p(model, entries, args.beam, args.words);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("{} split, {} words, {}: PER {:.2f}%  WER {:.2f}%  ({:.1f} s)\n", args.split, metrics.words,
             args.beam > 1 ? fmt::format("beam {}", args.beam) : std::string("greedy"),
             100 * metrics.phoneme_error_rate, 100 * metrics.word_error_rate, seconds);
  return 0;
}

int run_eval(const EvalArguments& args) {
  const std::string path = args.checkpoint.empty() ? shipped_g2p_checkpoint() : args.checkpoint;
  ATTEND_CHECK(std::filesystem::exists(path), ValueError, "checkpoint '{}' does not exist", path);
  if (models::is_text_classifier_gguf_file(path)) {  // attend quantize's file of a classifier
    return run_classify_eval(path, args.split, args.data_path, args.words, args.weights);
  }
  if (models::is_g2p_gguf_file(path)) {  // attend quantize's file of a G2P model
    return run_g2p_eval(*models::load_g2p_model(path, args.weights), args);
  }
  const io::SafetensorsFile checkpoint = io::load_safetensors(path);  // read once, for every task
  const io::Metadata& metadata = checkpoint.metadata();
  const auto task = metadata.find("task");
  ATTEND_CHECK(task != metadata.end(), ValueError, "'{}' has no task in its metadata: not written by attend train",
               path);
  if (task->second == "classify") {
    return run_classify_eval(path, args.split, args.data_path, args.words, args.weights);
  }
  ATTEND_CHECK(args.weights == "float32" || task->second == "g2p", ValueError,
               "attend eval: --weights {} is for text classifiers over a pretrained BERT encoder and G2P models; "
               "'{}' is a {} model",
               args.weights, path, task->second);
  if (task->second == "fashion-mnist") {
    const std::string split = args.split == "dev" ? "validation" : args.split;
    ATTEND_CHECK(split != "train", ValueError,
                 "attend eval: Fashion-MNIST checkpoints are evaluated on test, validation or both");
    return run_fashion_mnist_eval(checkpoint, {args.data_path, split});
  }
  ATTEND_CHECK(task->second == "g2p", ValueError, "'{}': attend eval does not know the task '{}'", path, task->second);
  return run_g2p_eval(*models::load_g2p_model(checkpoint, args.weights), args);
}

}  // namespace

CommandRunner add_eval_command(CLI::App& app) {
  auto eval_args = std::make_shared<EvalArguments>();
  CLI::App* eval = app.add_subcommand("eval", "evaluate a checkpoint on a held-out split");
  eval->add_option("checkpoint,--checkpoint", eval_args->checkpoint,
                   "model.safetensors or checkpoint.safetensors (default: " + shipped_g2p_description() + ")");
  eval->add_option("--split", eval_args->split,
                   "test, dev (= validation) or train; Fashion-MNIST also both (validation and test)")
      ->check(CLI::IsMember({"test", "dev", "validation", "train", "both"}))
      ->capture_default_str();
  eval->add_option("--beam", eval_args->beam, "G2P: beam size (1: greedy)")
      ->check(integer_in(1, kMaxBeam))
      ->capture_default_str();
  eval->add_option("--words", eval_args->words, "G2P: evaluate only the first N words; classify: texts (0: all)")
      ->check(integer_in(0, kMaxWords))
      ->capture_default_str();
  eval->add_option("--data", eval_args->data_path,
                   "G2P: path of cmudict.dict; Fashion-MNIST: directory of the IDX files; classify: the CSV (default: "
                   "where attend info shows them)");
  add_weights_flag(*eval, eval_args->weights);
  return [eval, eval_args]() -> int { return eval->parsed() ? run_eval(*eval_args) : -1; };
}

}  // namespace attend::tools
