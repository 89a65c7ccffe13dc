// Checkpoint averaging: the mean of the parameters in float64 (against a hand computation), the
// training loop's tensors and metadata left out, and every mismatch between the files refused
// with a message that names the file and what differs.
#include <gtest/gtest.h>

#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "attend/core/error.h"
#include "attend/io/safetensors.h"
#include "attend/train/checkpoint_average.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"

namespace attend::train {
namespace {

namespace fs = std::filesystem;

class CheckpointAverageTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = temp_.path(); }

  // A trainer-style checkpoint: parameters "w" (F32, 2 x 3) and "b" (F64, 2), optimizer state and
  // a random stream, model metadata and the loop's.
  std::string write(const std::string& name, const std::vector<float>& w, const std::vector<double>& b, int64_t step,
                    io::Metadata metadata = {{"task", "tiny"}, {"model_dim", "3"}}) const {
    metadata["trainer.step"] = std::to_string(step);
    metadata["trainer.running_loss"] = "0x1p-1";
    io::NamedTensors tensors;
    tensors.emplace_back("w", Tensor<float>::from_vector({2, 3}, w));
    tensors.emplace_back("b", Tensor<double>::from_vector({2}, b));
    tensors.emplace_back("optimizer.adamw.m.w", Tensor<float>::from_vector({2, 3}, w));
    tensors.emplace_back("rng.dropout", Tensor<int64_t>::zeros({9}));
    const std::string path = (dir_ / name).string();
    io::save_safetensors(path, tensors, metadata);
    return path;
  }
  testing::TempDir temp_;
  fs::path dir_;
};

TEST_F(CheckpointAverageTest, MeansInFloat64AndDropsTheTrainingLoopsState) {
  // 1e8 + 1 - 1e8 is 0 summed in float, 1 in double: the mean must be 1/3, not 0.
  const std::string a = write("a.safetensors", {1e8f, 1, 2, 3, 4, 5}, {1.0, -2.0}, 10);
  const std::string b = write("b.safetensors", {1, 1, 2, 3, 4, 5}, {2.0, -4.0}, 20);
  const std::string c = write("c.safetensors", {-1e8f, 1, 2, 3, 4, 8}, {4.5, 0.25}, 30);
  const AveragedCheckpoint averaged = average_checkpoints({a, b, c});

  ASSERT_EQ(averaged.tensors.size(), 2u);  // w and b; no optimizer state, no random stream
  EXPECT_EQ(averaged.tensors[0].first, "w");
  EXPECT_EQ(averaged.tensors[1].first, "b");
  const auto& w = std::get<Tensor<float>>(averaged.tensors[0].second);
  EXPECT_EQ(w.shape(), (Shape{2, 3}));
  EXPECT_EQ(w.to_vector(), (std::vector<float>{static_cast<float>(1.0 / 3.0), 1, 2, 3, 4, 6}));
  const auto& bias = std::get<Tensor<double>>(averaged.tensors[1].second);
  EXPECT_EQ(bias.to_vector(), (std::vector<double>{7.5 / 3.0, -5.75 / 3.0}));

  EXPECT_EQ(averaged.metadata.at("task"), "tiny");
  EXPECT_EQ(averaged.metadata.at("model_dim"), "3");
  EXPECT_EQ(averaged.metadata.at("averaged.count"), "3");
  EXPECT_EQ(averaged.metadata.at("averaged.steps"), "10,20,30");
  for (const auto& [key, value] : averaged.metadata) EXPECT_FALSE(key.starts_with("trainer.")) << key;
}

TEST_F(CheckpointAverageTest, WritesAModelFileAndNeverOverAnInput) {
  const std::string a = write("a.safetensors", {1, 2, 3, 4, 5, 6}, {1, 2}, 1);
  const std::string b = write("b.safetensors", {3, 4, 5, 6, 7, 8}, {3, 4}, 2);
  const std::string out = (dir_ / "mean.safetensors").string();
  write_averaged_checkpoint({a, b}, out, false);
  const io::SafetensorsFile file = io::load_safetensors(out);
  EXPECT_EQ(file.get<float>("w").to_vector(), (std::vector<float>{2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(file.metadata().at("averaged.steps"), "1,2");

  expect_error<io::IoError>(
      [&] {
        write_averaged_checkpoint({a, b}, out, false);
      },
      {"mean.safetensors", "exists", "--overwrite"});
  EXPECT_EQ(write_averaged_checkpoint({a, b}, out, true).at("averaged.count"), "2");
  // The output may not be an input, by any name.
  expect_error<ValueError>([&] { write_averaged_checkpoint({a, b}, a, true); }, {"a.safetensors", "input"});
  const std::string a_by_another_name = (dir_ / "." / "a.safetensors").string();
  expect_error<ValueError>([&] { write_averaged_checkpoint({a_by_another_name, b}, a, true); }, {"input"});
  fs::create_symlink(a, dir_ / "link.safetensors");
  expect_error<ValueError>(
      [&] {
        write_averaged_checkpoint({a, b}, (dir_ / "link.safetensors").string(), true);
      },
      {"link.safetensors", "input"});
  EXPECT_EQ(io::load_safetensors(a).get<float>("w").to_vector(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST_F(CheckpointAverageTest, RefusesFilesThatDoNotBelongTogether) {
  const std::string a = write("a.safetensors", {1, 2, 3, 4, 5, 6}, {1, 2}, 1);
  expect_error<ValueError>([&] { average_checkpoints({a}); }, {"at least 2"});
  expect_error<ValueError>(
      [&] {
        average_checkpoints({a, (dir_ / "absent.safetensors").string()});
      },
      {"absent.safetensors", "does not exist"});

  // The same model twice would count double: the same file by two names, or two files of one step.
  expect_error<ValueError>(
      [&] {
        average_checkpoints({a, (dir_ / "." / "a.safetensors").string()});
      },
      {"same file", "twice"});
  const std::string copy = write("copy.safetensors", {1, 2, 3, 4, 5, 6}, {1, 2}, 1);
  expect_error<ValueError>(
      [&] {
        average_checkpoints({a, copy});
      },
      {"a.safetensors", "copy.safetensors", "both step 1"});

  // A NaN would spread into the mean: refused, by file, tensor and index.
  const std::string nan = write("nan.safetensors", {1, 2, 3, 4, std::numeric_limits<float>::quiet_NaN(), 6}, {1, 2}, 3);
  expect_error<ValueError>([&] { average_checkpoints({a, nan}); }, {"nan.safetensors", "tensor 'w'", "(1, 1)"});

  // Another model: its metadata differs.
  const std::string wider =
      write("wider.safetensors", {1, 2, 3, 4, 5, 6}, {1, 2}, 2, {{"task", "tiny"}, {"model_dim", "4"}});
  expect_error<ValueError>([&] { average_checkpoints({a, wider}); }, {"wider.safetensors", "model_dim", "'3'", "'4'"});
  const std::string extra_key =
      write("extra.safetensors", {1, 2, 3, 4, 5, 6}, {1, 2}, 2, {{"task", "tiny"}, {"model_dim", "3"}, {"heads", "2"}});
  expect_error<ValueError>([&] { average_checkpoints({a, extra_key}); }, {"extra.safetensors", "heads"});

  // A tensor of another shape, another dtype, a missing or an extra tensor, an integer parameter.
  const auto save = [&](const std::string& name, const io::NamedTensors& tensors) {
    const std::string path = (dir_ / name).string();
    io::save_safetensors(path, tensors, {{"task", "tiny"}, {"model_dim", "3"}});
    return path;
  };
  const Tensor<double> b = Tensor<double>::from_vector({2}, {1, 2});
  const std::string reshaped = save("reshaped.safetensors", {{"w", Tensor<float>::zeros({3, 2})}, {"b", b}});
  expect_error<ValueError>(
      [&] {
        average_checkpoints({a, reshaped});
      },
      {"reshaped.safetensors", "'w'", "(2, 3)", "(3, 2)"});
  const std::string retyped = save("retyped.safetensors", {{"w", Tensor<double>::zeros({2, 3})}, {"b", b}});
  expect_error<ValueError>([&] { average_checkpoints({a, retyped}); }, {"retyped.safetensors", "'w'", "F32", "F64"});
  const std::string missing = save("missing.safetensors", {{"w", Tensor<float>::zeros({2, 3})}});
  expect_error<ValueError>(
      [&] {
        average_checkpoints({a, missing});
      },
      {"missing.safetensors", "2 parameter tensors", "1"});
  const std::string extra = save("extra_tensor.safetensors",
                                 {{"w", Tensor<float>::zeros({2, 3})}, {"b", b}, {"c", Tensor<float>::zeros({1})}});
  expect_error<ValueError>([&] { average_checkpoints({a, extra}); }, {"extra_tensor.safetensors", "'c'"});
  const std::string integer = save("integer.safetensors", {{"w", Tensor<int64_t>::zeros({2, 3})}, {"b", b}});
  expect_error<ValueError>([&] { average_checkpoints({integer, a}); }, {"integer.safetensors", "'w'", "I64"});
}

}  // namespace
}  // namespace attend::train
