// check_tensor_table: a file must hold exactly the tensors a configuration implies, by name,
// dtype and shape, besides the Trainer's state; every difference is named, and the parameter
// counts are given when they differ.
#include <gtest/gtest.h>

#include <string>

#include "attend/core/error.h"
#include "attend/io/safetensors.h"
#include "attend/io/tensor_table.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"

namespace attend {
namespace {

const io::TensorTable kExpected = {{"w", io::DType::kF32, {3, 4}}, {"b", io::DType::kF32, {3}}};

class TensorTableTest : public ::testing::Test {
 protected:
  io::SafetensorsFile saved(const io::NamedTensors& tensors) const {
    const std::string path = (dir_ / "t.safetensors").string();
    io::save_safetensors(path, tensors, {}, /*overwrite=*/true);
    return io::load_safetensors(path);
  }
  void expect_refused(const io::NamedTensors& tensors, const std::vector<std::string>& fragments) const {
    const io::SafetensorsFile file = saved(tensors);
    expect_error<ValueError>([&] { io::check_tensor_table(file, kExpected, "its metadata (n=3)"); }, fragments);
  }

  attend::testing::TempDir dir_;
};

TEST_F(TensorTableTest, TheTensorsItImpliesAndTrainingStatePass) {
  EXPECT_NO_THROW(io::check_tensor_table(saved({{"w", Tensor<float>::zeros({3, 4})}, {"b", Tensor<float>::zeros({3})}}),
                                         kExpected, "its metadata"));
  EXPECT_NO_THROW(io::check_tensor_table(saved({{"b", Tensor<float>::zeros({3})},
                                                {"optimizer.m.w", Tensor<float>::zeros({3, 4})},
                                                {"rng.dropout", IndexTensor::zeros({9})},
                                                {"w", Tensor<float>::zeros({3, 4})}}),
                                         kExpected, "its metadata"));
  EXPECT_TRUE(io::is_training_state("optimizer.step"));
  EXPECT_TRUE(io::is_training_state("rng.layer.dropout_seeds"));
  EXPECT_FALSE(io::is_training_state("optimizerx"));
  EXPECT_DOUBLE_EQ(io::element_count(kExpected), 15);
}

TEST_F(TensorTableTest, EveryDifferenceIsNamed) {
  expect_refused({{"w", Tensor<float>::zeros({3, 4})}},
                 {"t.safetensors' does not hold the model its metadata (n=3) describes",
                  "(that model has 15 parameters in 2 tensors, the file 12 in 1)", "parameter 'b' (3) is missing"});
  expect_refused({{"w", Tensor<float>::zeros({4, 4})}, {"b", Tensor<float>::zeros({3})}},
                 {"parameter 'w' has shape (4, 4) in the file, the metadata implies (3, 4)"});
  expect_refused({{"w", Tensor<double>::zeros({3, 4})}, {"b", Tensor<float>::zeros({3})}},
                 {"parameter 'w' is F64 in the file, the metadata implies F32"});
  expect_refused(
      {{"w", Tensor<float>::zeros({3, 4})}, {"b", Tensor<float>::zeros({3})}, {"extra", Tensor<float>::zeros({1})}},
      {"(that model has 15 parameters in 2 tensors, the file 16 in 3)",
       "the file has tensors that are not parameters: 'extra'"});
}

TEST_F(TensorTableTest, EqualCountsAreNotMentioned) {
  const io::SafetensorsFile file = saved({{"w", Tensor<float>::zeros({3, 4})}, {"c", Tensor<float>::zeros({3})}});
  try {
    io::check_tensor_table(file, kExpected, "its metadata");
    FAIL() << "a renamed tensor passed";
  } catch (const ValueError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find("that model has"), std::string::npos) << message;
    EXPECT_NE(message.find("parameter 'b' (3) is missing; the file has tensors that are not parameters: 'c'"),
              std::string::npos)
        << message;
  }
}

TEST(JoinProblems, ShowsTheFirstTenAndCountsTheRest) {
  std::vector<std::string> problems;
  for (int i = 0; i < 12; ++i) problems.push_back(fmt::format("p{}", i));
  EXPECT_EQ(io::join_problems(problems), "p0; p1; p2; p3; p4; p5; p6; p7; p8; p9; and 2 more problems");
  EXPECT_EQ(io::join_problems({"only"}), "only");
}

}  // namespace
}  // namespace attend
