// The Fashion-MNIST recipe's parts: augmentation, batches, accuracy, and a short training run on
// a synthetic, learnable set (the real data set is exercised by the CLI tests).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "attend/train/fashion_mnist_training.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"

namespace attend::train {
namespace {

TEST(FashionMnistTraining, AugmentationShiftsAndFlipsDeterministically) {
  // One 5x5 image with a single lit pixel at (1, 3).
  Tensor<float> image = Tensor<float>::zeros({1, 1, 5, 5});
  image.data()[1 * 5 + 3] = 1;
  Generator none(1);
  EXPECT_EQ(augment_images(image, 0, false, none).to_vector(), image.to_vector());
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Generator a(seed), b(seed);
    const auto out = augment_images(image, 1, true, a);
    EXPECT_EQ(out.to_vector(), augment_images(image, 1, true, b).to_vector()) << "seed " << seed;
    // The pixel lands at (1 + dy, 3 + dx) or, flipped, at (1 + dy, 1 + dx), |dy|, |dx| <= 1.
    const auto values = out.to_vector();
    int lit = 0;
    for (int64_t i = 0; i < 25; ++i) {
      if (values[i] == 0) continue;
      ++lit;
      const int64_t y = i / 5, x = i % 5;
      EXPECT_LE(std::abs(y - 1), 1) << "seed " << seed;
      EXPECT_TRUE(std::abs(x - 3) <= 1 || std::abs(x - 1) <= 1) << "seed " << seed << " x " << x;
    }
    EXPECT_EQ(lit, 1) << "seed " << seed;
  }
  // A shift past the padding never happens; a two-pixel image keeps its shape when flipped.
  Tensor<float> pair = Tensor<float>::zeros({1, 1, 1, 3});
  pair.data()[0] = 2;
  pair.data()[1] = 1;
  Generator flips(7);
  for (int i = 0; i < 10; ++i) {
    const auto out = augment_images(pair, 0, true, flips).to_vector();
    EXPECT_TRUE(out == pair.to_vector() || out == (std::vector<float>{0, 1, 2}));
  }
  expect_error<ShapeError>([&] { augment_images(Tensor<float>::zeros({5, 5}), 1, true, flips); }, {"(5, 5)"});
}

// 8x8 images whose class (0..3) is the quadrant that holds the bright square, plus noise.
data::ImageSet quadrant_images(int64_t count, Generator& generator) {
  data::ImageSet set{Tensor<float>::uniform({count, 8, 8}, 0, 0.3f, generator), IndexTensor::empty({count})};
  for (int64_t i = 0; i < count; ++i) {
    const int64_t label = static_cast<int64_t>(generator.uniform_int(4));
    set.labels.data()[i] = label;
    for (int64_t y = 0; y < 3; ++y) {
      for (int64_t x = 0; x < 3; ++x) set.images.data()[i * 64 + (label / 2 * 4 + y) * 8 + label % 2 * 4 + x] = 1;
    }
  }
  return set;
}

TEST(FashionMnistTraining, BatchesFollowTheOrder) {
  Generator generator(2);
  const data::ImageSet set = quadrant_images(6, generator);
  const data::ImageSet batch = image_batch(set, {5, 0, 3}, 1, 2);  // rows 0 and 3
  EXPECT_EQ(batch.images.shape(), (Shape{2, 1, 8, 8}));
  EXPECT_EQ(batch.labels.data()[0], set.labels.data()[0]);
  EXPECT_EQ(batch.labels.data()[1], set.labels.data()[3]);
  EXPECT_EQ(batch.images.data()[64 + 10], set.images.data()[3 * 64 + 10]);
  expect_error<ValueError>([&] { image_batch(set, {}, 5, 2); }, {"rows 5 .. 7", "6 available"});
}

TEST(FashionMnistTraining, LearnsASyntheticTaskAndWritesMetrics) {
  Generator generator(3);
  data::FashionMnist data{quadrant_images(512, generator), quadrant_images(128, generator),
                          quadrant_images(128, generator)};
  models::VisionTransformerConfig config;
  config.transformer = {
      .image_size = 8, .num_classes = 4, .model_dim = 16, .num_heads = 2, .num_layers = 1, .dropout = 0};
  models::VisionTransformer<float> model(config, generator);
  const attend::testing::TempDir temp;
  const auto out_dir = temp / "run";
  FashionMnistTrainingOptions options;
  options.out_dir = out_dir.string();
  options.epochs = 6;
  options.batch_size = 32;
  options.learning_rate = 1e-2;
  options.crop_padding = 1;
  options.horizontal_flip = false;  // a flip changes the quadrant, and so the label
  const double before = evaluate_accuracy(model, data.validation);
  const FashionMnistResult result = train_fashion_mnist(model, data, options);
  EXPECT_EQ(result.steps, 6 * 16);
  EXPECT_DOUBLE_EQ(result.epochs, 6.0);
  EXPECT_GT(result.validation_accuracy, 0.8) << "before training: " << before;  // chance: 0.25
  EXPECT_GT(result.test_accuracy, 0.8);
  EXPECT_EQ(result.parameters, model.parameter_count());
  EXPECT_FALSE(model.is_training());
  std::ifstream metrics(out_dir / "metrics.jsonl");
  std::vector<std::string> lines;
  for (std::string line; std::getline(metrics, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 7u);  // one per epoch, then the final figures
  EXPECT_TRUE(std::filesystem::exists(out_dir / "model.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(out_dir / "checkpoint.safetensors"));
  EXPECT_NE(lines[0].find("\"train_accuracy\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"val_accuracy\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"learning_rate\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[6].find("\"test_accuracy\""), std::string::npos) << lines[6];
  // The model left in `model` is the best one, the one in model.safetensors, and the test
  // figure is its accuracy.
  Generator other(99);
  models::VisionTransformer<float> reloaded(config, other);
  load_model_weights((out_dir / "model.safetensors").string(), reloaded);
  const auto trained = model.named_parameters(), saved = reloaded.named_parameters();
  for (size_t i = 0; i < trained.size(); ++i) EXPECT_EQ(trained[i].second.to_vector(), saved[i].second.to_vector());
  EXPECT_EQ(result.test_accuracy, evaluate_accuracy(reloaded, data.test));
}

TEST(FashionMnistTraining, BatchesArePureFunctionsOfTheStepAndCoverEachEpochOnce) {
  Generator generator(5);
  data::ImageSet set = quadrant_images(10, generator);
  for (int64_t i = 0; i < 10; ++i) set.images.data()[i * 64] = static_cast<float>(i);  // the image's index, top left
  FashionMnistBatches batches(set, 4, 7, 0, false);
  EXPECT_EQ(batches.steps_per_epoch(), 3);
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    std::vector<int> seen(10, 0);
    for (int64_t step = 3 * epoch; step < 3 * epoch + 3; ++step) {
      const data::ImageSet batch = batches.batch(step);
      EXPECT_EQ(batch.images.size(0), step % 3 == 2 ? 2 : 4);  // the last batch of an epoch is short
      for (int64_t i = 0; i < batch.images.size(0); ++i) ++seen[static_cast<size_t>(batch.images.data()[i * 64])];
    }
    EXPECT_EQ(seen, std::vector<int>(10, 1)) << "epoch " << epoch;
  }
  // Another object, asked out of order, gives the same batch bit for bit (with augmentation).
  FashionMnistBatches augmented(set, 4, 7, 2, true), again(set, 4, 7, 2, true);
  const data::ImageSet expected = augmented.batch(4);
  again.batch(0);
  again.batch(7);
  const data::ImageSet actual = again.batch(4);
  EXPECT_EQ(actual.images.to_vector(), expected.images.to_vector());
  EXPECT_EQ(actual.labels.to_vector(), expected.labels.to_vector());
  // Epochs differ in order.
  EXPECT_NE(batches.batch(0).labels.to_vector(), batches.batch(3).labels.to_vector());
}

// A run stopped early (by a time limit, after its first step) and resumed ends with the same
// parameters, bit for bit, as one never interrupted: batches, augmentation and dropout are
// functions of the seed and the step, and the checkpoint carries the rest.
TEST(FashionMnistTraining, ResumedRunIsBitwiseIdenticalToAnUninterruptedOne) {
  Generator data_generator(6);
  const data::FashionMnist data{quadrant_images(64, data_generator), quadrant_images(32, data_generator),
                                quadrant_images(32, data_generator)};
  models::VisionTransformerConfig config;
  config.transformer = {
      .image_size = 8, .num_classes = 4, .model_dim = 8, .num_heads = 2, .num_layers = 1, .dropout = 0.1};
  const attend::testing::TempDir temp;
  const auto& root = temp.path();
  const auto run = [&](const std::string& name, double time_limit, bool resume, const std::string& from = "") {
    Generator generator(7);
    models::VisionTransformer<float> model(config, generator);
    FashionMnistTrainingOptions options;
    options.out_dir = (root / name).string();
    if (resume) options.resume_from = (root / (from.empty() ? name : from) / "checkpoint.safetensors").string();
    options.metadata = model.config_fields();
    options.quiet = true;
    options.epochs = 3;
    options.batch_size = 16;
    options.learning_rate = 1e-2;
    options.horizontal_flip = false;
    options.time_limit_seconds = time_limit;
    return train_fashion_mnist(model, data, options);
  };
  const auto last_parameters = [&](const std::string& name) {
    Generator generator(8);
    models::VisionTransformer<float> model(config, generator);
    load_model_weights((root / name / "checkpoint.safetensors").string(), model);
    std::vector<std::vector<float>> values;
    for (const auto& [key, parameter] : model.named_parameters()) values.push_back(parameter.to_vector());
    return values;
  };
  const FashionMnistResult whole = run("whole", 0, false);
  const FashionMnistResult stopped = run("split", 1e-9, false);
  EXPECT_TRUE(stopped.stopped_by_time_limit);
  EXPECT_EQ(stopped.steps, 1);
  const FashionMnistResult resumed = run("split", 0, true);
  EXPECT_FALSE(resumed.stopped_by_time_limit);
  EXPECT_EQ(whole.steps, 12);
  EXPECT_EQ(resumed.steps, 12);
  EXPECT_DOUBLE_EQ(resumed.epochs, 3.0);
  EXPECT_EQ(last_parameters("split"), last_parameters("whole"));
  // A resumed run writes where it resumes from: its best model is reloaded from there.
  expect_error<ValueError>([&] { run("elsewhere", 0, true, "split"); }, {"resume from OUT/checkpoint.safetensors"});
}

TEST(FashionMnistTraining, RejectsBadOptions) {
  Generator generator(4);
  data::FashionMnist data{quadrant_images(8, generator), quadrant_images(8, generator), quadrant_images(8, generator)};
  models::VisionTransformerConfig config;
  config.transformer = {.image_size = 8, .num_classes = 4, .model_dim = 4, .num_heads = 2, .num_layers = 0};
  models::VisionTransformer<float> model(config, generator);
  FashionMnistTrainingOptions options;
  options.batch_size = 0;
  expect_error<ValueError>([&] { train_fashion_mnist(model, data, options); }, {"batch size (0)"});
  options.batch_size = 8;
  options.steps = 2;
  options.warmup_steps = 5;
  expect_error<ValueError>([&] { train_fashion_mnist(model, data, options); }, {"warm-up (5 steps)", "(2)"});
}

}  // namespace
}  // namespace attend::train
