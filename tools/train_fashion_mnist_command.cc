#include "train_fashion_mnist_command.h"

#include "commands.h"

#include "cli_checks.h"
#include "run_flags.h"

#include "viz_command.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/core/memory.h"
#include "attend/core/parallel.h"
#include "attend/data/fashion_mnist.h"
#include "attend/io/safetensors.h"
#include "attend/models/image_classifier.h"
#include "attend/models/image_classifier_factory.h"
#include "attend/train/fashion_mnist_training.h"

namespace attend::tools {
namespace {

constexpr const char* kTask = "fashion-mnist";

struct FashionMnistArguments {
  train::FashionMnistTrainingOptions options;
  std::string data_dir;  // empty: the Debian package's directory
  std::string model = "conv-attention";
  models::ImageTransformerConfig transformer;
  int64_t stem_channels = models::ConvAttentionConfig{}.stem_channels;
  int64_t patch_size = models::VisionTransformerConfig{}.patch_size;
  RunFlags run;
};

std::unique_ptr<models::ImageClassifier<float>> build_model(const FashionMnistArguments& args, Generator& generator) {
  if (args.model == "vit") {
    return std::make_unique<models::VisionTransformer<float>>(
        models::VisionTransformerConfig{.transformer = args.transformer, .patch_size = args.patch_size}, generator);
  }
  return std::make_unique<models::ConvAttentionClassifier<float>>(
      models::ConvAttentionConfig{.transformer = args.transformer, .stem_channels = args.stem_channels}, generator);
}

std::string describe(const models::ConfigFields& fields) {
  std::string text;
  for (const auto& [key, value] : fields) text += fmt::format("{}{}={}", text.empty() ? "" : " ", key, value);
  return text;
}

data::FashionMnist load_data(const std::string& directory) {
  const data::FashionMnist data = data::load_fashion_mnist(directory);
  fmt::print("Fashion-MNIST ({}): {} train, {} validation, {} test images\n",
             directory.empty() ? data::default_fashion_mnist_directory() : directory, data.train.images.size(0),
             data.validation.images.size(0), data.test.images.size(0));
  return data;
}

int run_train(FashionMnistArguments& args) {
  keep_freed_memory_for_reuse();
  train::FashionMnistTrainingOptions& options = args.options;
  prepare_run(options, args.run);
  Generator generator(options.seed);
  std::unique_ptr<models::ImageClassifier<float>> model;
  if (args.run.resume) {
    // The model the run was started with, whatever --arch and its sizes say now.
    const io::SafetensorsFile checkpoint = io::load_safetensors(options.resume_from);
    model = models::make_image_classifier<float>(models::image_classifier_spec_from_checkpoint(checkpoint), generator);
  } else {
    model = build_model(args, generator);  // before the data: a bad shape fails at once
  }
  options.metadata = model->config_fields();
  options.metadata["task"] = kTask;
  const data::FashionMnist data = load_data(args.data_dir);
  if (!options.tensorboard_dir.empty() && data.validation.images.size(0) > 0) {
    // After every epoch: the attention over the first validation image.
    const Tensor<float> image = data.validation.images.slice(0, 0, 1).contiguous();  // (1, 28, 28)
    const std::string label = data::fashion_mnist_class_name(data.validation.labels.data()[0]);
    options.eval_images = [image, label](models::ImageClassifier<float>& classifier) {
      const std::string png =
          render_image_classifier_attention(classifier, image, "validation image 0 (" + label + ")");
      return std::vector<train::EvalImage>{train::eval_image_from_png("attention/validation_0", png)};
    };
  }
  fmt::print("model: {}, {} parameters ({})\nthreads: {}\n", model->architecture(), model->parameter_count(),
             describe(model->config_fields()), num_threads());
  std::fflush(stdout);  // before the progress lines on stderr
  const train::FashionMnistResult result = train::train_fashion_mnist(*model, data, options);
  fmt::print("trained {} steps ({:.2f} epochs) in {:.1f} s of training{}: {:.3f} s per step; test {:.1f} s\n",
             result.steps, result.epochs, result.train_seconds,
             result.stopped_by_time_limit ? " (stopped by --time-limit)" : "",
             result.train_seconds / std::max<int64_t>(result.steps, 1), result.test_seconds);
  fmt::print("best model (step {}): validation accuracy {:.2f}%  test accuracy {:.2f}%  ({} parameters)\n",
             result.best_step, 100 * result.validation_accuracy, 100 * result.test_accuracy, result.parameters);
  if (!options.out_dir.empty()) {
    const std::string checkpoint = (std::filesystem::path(options.out_dir) / "model.safetensors").string();
    fmt::print("saved {} (use: attend eval {})\n", checkpoint, checkpoint);
  }
  return 0;
}

}  // namespace

int run_fashion_mnist_eval(const io::SafetensorsFile& checkpoint, const FashionMnistEvalArguments& args) {
  const io::Metadata& metadata = checkpoint.metadata();
  const auto task = metadata.find("task");
  ATTEND_CHECK(task != metadata.end() && task->second == kTask, ValueError,
               "'{}' is not a Fashion-MNIST checkpoint (its metadata has task = '{}')", checkpoint.path(),
               task == metadata.end() ? "" : task->second);
  const auto model = models::load_image_classifier(checkpoint);  // model.safetensors or checkpoint.safetensors
  fmt::print("model: {}, {} parameters ({})\n", model->architecture(), model->parameter_count(),
             describe(model->config_fields()));
  const data::FashionMnist data = load_data(args.data_dir);
  if (args.split != "test") {
    fmt::print("validation accuracy {:.2f}%\n", 100 * train::evaluate_accuracy(*model, data.validation));
  }
  if (args.split != "validation")
    fmt::print("test accuracy {:.2f}%\n", 100 * train::evaluate_accuracy(*model, data.test));
  return 0;
}

CommandRunner add_train_fashion_mnist_command(CLI::App& train) {
  auto args = std::make_shared<FashionMnistArguments>();
  auto& o = args->options;
  auto& t = args->transformer;
  CLI::App* command =
      train.add_subcommand("fashion-mnist", "image classifier (conv stem + self-attention, or a ViT) on Fashion-MNIST");
  add_arch_flag(*command, args->model, "conv-attention or vit", CLI::IsMember({"conv-attention", "vit"}));
  command->add_option("--data", args->data_dir,
                      "directory of the four IDX files (default: ATTEND_FASHION_MNIST, else the Debian package's "
                      "/usr/share/datasets/fashion-mnist)");
  add_run_flags(*command, o, args->run, "best validation accuracy");
  auto* epochs = command->add_option("--epochs", o.epochs, "passes over the 55,000 training images")
                     ->check(integer_in(1, kMaxSteps))
                     ->capture_default_str();
  command->add_option("--steps", o.steps, "optimizer steps (instead of --epochs)")
      ->check(integer_in(1, kMaxSteps))
      ->excludes(epochs);
  command->add_option("--batch", o.batch_size, "images per step")
      ->check(integer_in(1, kMaxImageBatch))
      ->capture_default_str();
  command->add_option("--lr", o.learning_rate, "peak learning rate")->check(positive_real())->capture_default_str();
  command->add_option("--min-lr", o.minimum_learning_rate, "learning rate at the end of the cosine")
      ->check(non_negative_real())
      ->capture_default_str();
  command->add_option("--warmup", o.warmup_steps, "warm-up steps (default: 5% of the run)")
      ->check(integer_in(1, kMaxSteps));
  command->add_option("--weight-decay", o.weight_decay, "AdamW weight decay")
      ->check(non_negative_real())
      ->capture_default_str();
  command->add_option("--label-smoothing", o.label_smoothing, "label smoothing")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  command->add_option("--crop-padding", o.crop_padding, "random shift of up to this many pixels (0: none)")
      ->check(integer_in(0, 27))
      ->capture_default_str();
  command->add_flag("--flip,!--no-flip", o.horizontal_flip, "random left-right flips (default: on)");
  command->add_option("--seed", o.seed, "random seed (initialization, order, augmentation)")
      ->check(unsigned_integer())
      ->capture_default_str();
  add_clip_flag(*command, o.clip_norm);
  command->add_option("--dim", t.model_dim, "model width E")->check(integer_in(1, kMaxWidth))->capture_default_str();
  command->add_option("--heads", t.num_heads, "attention heads")
      ->check(integer_in(1, kMaxHeads))
      ->capture_default_str();
  command->add_option("--layers", t.num_layers, "Transformer encoder layers")
      ->check(integer_in(0, kMaxLayers))
      ->capture_default_str();
  command->add_option("--ff", t.feedforward_dim, "feed-forward width (default: 2 E)")->check(integer_in(1, kMaxWidth));
  command->add_option("--dropout", t.dropout, "dropout")->check(CLI::Range(0.0, 0.99))->capture_default_str();
  command->add_option("--stem-channels", args->stem_channels, "conv-attention: channels of the first conv block")
      ->check(integer_in(1, 4096))
      ->capture_default_str();
  command->add_option("--patch", args->patch_size, "vit: patch size (dividing 28)")
      ->check(integer_in(1, 28))
      ->capture_default_str();
  return [command, args]() -> int { return command->parsed() ? run_train(*args) : -1; };
}

}  // namespace attend::tools
