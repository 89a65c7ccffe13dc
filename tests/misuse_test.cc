// Misuse of the public API: each call must throw a clear attend exception whose message names
// the op and the offending shapes or values. Never a crash, never a silent wrong answer.
#include <gtest/gtest.h>

#include <functional>

#include "attend/attend.h"
#include "harness/expect_error.h"

namespace attend {
namespace {

const auto a23 = Tensor32::ones({2, 3});
const auto a43 = Tensor32::ones({4, 3});

TEST(Misuse, AddShapesThatDoNotBroadcast) {
  expect_error<ShapeError>([] { add(a23, a43); }, {"add", "(2, 3)", "(4, 3)"});
}
TEST(Misuse, MulShapesThatDoNotBroadcast) {
  expect_error<ShapeError>([] { mul(Tensor64::ones({5}), Tensor64::ones({4})); }, {"mul", "(5)", "(4)"});
}
TEST(Misuse, MatmulInnerSizesDiffer) {
  expect_error<ShapeError>([] { matmul(a23, a43); }, {"matmul", "(2, 3)", "(4, 3)", "3 != 4"});
}
TEST(Misuse, MatmulOfAVector) {
  expect_error<ShapeError>([] { matmul(Tensor32::ones({3}), a23); }, {"matmul", "rank >= 2", "(3)"});
}
TEST(Misuse, MatmulBatchesDoNotBroadcast) {
  expect_error<ShapeError>(
      [] {
        matmul(Tensor32::ones({2, 2, 3}), Tensor32::ones({3, 3, 4}));
      },
      {"matmul", "(2)", "(3)"});
}
TEST(Misuse, SoftmaxAxisOutOfRange) {
  expect_error<ValueError>([] { softmax(a23, 2); }, {"softmax", "axis 2", "rank 2"});
}
TEST(Misuse, SumAxisListedTwice) {
  expect_error<ValueError>([] { sum(a23, {1, -1}); }, {"sum", "twice", "(2, 3)"});
}
TEST(Misuse, ReshapeToAnotherElementCount) {
  expect_error<ShapeError>([] { a23.reshape({4, 2}); }, {"reshape", "(2, 3)", "(4, 2)"});
}
TEST(Misuse, ReshapeWithTwoInferredAxes) {
  expect_error<ShapeError>([] { a23.reshape({-1, -1}); }, {"reshape", "-1"});
}
TEST(Misuse, PermuteWithARepeatedAxis) {
  expect_error<ValueError>([] { a23.permute({0, 0}); }, {"permute", "twice"});
}
TEST(Misuse, SqueezeOfAnAxisThatIsNotOne) {
  expect_error<ShapeError>([] { a23.squeeze(1); }, {"squeeze", "(2, 3)", "size 3"});
}
TEST(Misuse, ExpandToAnIncompatibleShape) {
  expect_error<ShapeError>([] { a23.expand({2, 4}); }, {"expand", "(2, 3)", "(2, 4)"});
}
TEST(Misuse, LayerNormShapeDoesNotEndTheInput) {
  expect_error<ShapeError>([] { layer_norm(a23, {2}); }, {"layer_norm", "(2, 3)", "(2)"});
}
TEST(Misuse, LayerNormWeightOfTheWrongShape) {
  expect_error<ShapeError>([] { layer_norm(a23, {3}, Tensor32::ones({4})); }, {"layer_norm", "weight", "(4)", "(3)"});
}
TEST(Misuse, EmbeddingIndexOutOfRange) {
  expect_error<ValueError>(
      [] {
        embedding(Tensor32::ones({5, 2}), IndexTensor::from_vector({2}, {1, 5}));
      },
      {"embedding", "index 5", "[0, 5)"});
}
TEST(Misuse, EmbeddingNegativeIndex) {
  expect_error<ValueError>(
      [] {
        embedding(Tensor32::ones({5, 2}), IndexTensor::from_vector({1}, {-1}));
      },
      {"embedding", "index -1"});
}
TEST(Misuse, EmbeddingWeightNotAMatrix) {
  expect_error<ShapeError>([] { embedding(Tensor32::ones({5}), IndexTensor::from_vector({1}, {0})); },
                           {"embedding", "(V, D)", "(5)"});
}
TEST(Misuse, IndexSelectWithAMatrixIndex) {
  expect_error<ShapeError>([] { index_select(a23, 0, IndexTensor::zeros({1, 1})); }, {"index_select", "1-D", "(1, 1)"});
}
TEST(Misuse, GatherIndexOfAnotherRank) {
  expect_error<ShapeError>([] { gather(a23, 1, IndexTensor::zeros({2})); }, {"gather", "(2)", "(2, 3)"});
}
TEST(Misuse, ConcatOfMismatchedShapes) {
  expect_error<ShapeError>(
      [] {
        concat(std::vector<Tensor32>{a23, Tensor32::ones({3, 2})}, 1);
      },
      {"concat", "(3, 2)", "(2, 3)"});
}
TEST(Misuse, ConcatOfNothing) {
  expect_error<ValueError>([] { concat(std::vector<Tensor32>{}, 0); }, {"concat", "at least one"});
}
TEST(Misuse, SplitSizesThatDoNotAddUp) {
  expect_error<ShapeError>([] { split(a23, {1, 1}, 1); }, {"split", "sum to 2", "(2, 3)"});
}
TEST(Misuse, StackOfDifferentShapes) {
  expect_error<ShapeError>([] { stack(std::vector<Tensor32>{a23, a43}, 0); }, {"stack", "(4, 3)", "(2, 3)"});
}
TEST(Misuse, CrossEntropyTargetsOfTheWrongShape) {
  expect_error<ShapeError>([] { cross_entropy(a23, IndexTensor::zeros({3})); },
                           {"cross_entropy", "(2, 3)", "(2)", "(3)"});
}
TEST(Misuse, CrossEntropyTargetOutOfRange) {
  expect_error<ValueError>(
      [] {
        cross_entropy(a23, IndexTensor::from_vector({2}, {0, 3}));
      },
      {"cross_entropy", "target 3", "[0, 3)"});
}
TEST(Misuse, CrossEntropyLabelSmoothingOutOfRange) {
  CrossEntropyOptions options;
  options.label_smoothing = 1.5;
  expect_error<ValueError>([&] { cross_entropy(a23, IndexTensor::zeros({2}), options); }, {"label_smoothing", "1.5"});
}
TEST(Misuse, MseOfDifferentShapes) {
  expect_error<ShapeError>([] { mse_loss(a23, a43); }, {"mse_loss", "(2, 3)", "(4, 3)"});
}
TEST(Misuse, DropoutProbabilityOfOne) {
  expect_error<ValueError>([] { dropout(a23, 1.0, 0); }, {"dropout", "[0, 1)"});
}
TEST(Misuse, ItemOfSeveralElements) {
  expect_error<ValueError>([] { a23.item(); }, {"item", "(2, 3)", "6 elements"});
}
TEST(Misuse, AtOutOfRange) {
  expect_error<ValueError>([] { a23.at({1, 3}); }, {"at", "index 3", "axis 1"});
}
TEST(Misuse, FromVectorWithTheWrongCount) {
  expect_error<ShapeError>([] { Tensor32::from_vector({2, 2}, {1, 2, 3}); }, {"from_vector", "(2, 2)", "3 values"});
}
TEST(Misuse, NegativeSize) {
  expect_error<ValueError>([] { Tensor32::zeros({2, -1}); }, {"(2, -1)", "negative"});
}
TEST(Misuse, IndexTensorsCannotRequireGrad) {
  // The wrong element type for autograd.
  expect_error<ValueError>([] { IndexTensor::zeros({3}).set_requires_grad(); }, {"integer", "(3)"});
}
TEST(Misuse, BackwardOfANonScalarWithoutGradient) {
  expect_error<AutogradError>(
      [] {
        auto x = Tensor32::ones({2, 3}).set_requires_grad();
        exp(x).backward();
      },
      {"backward", "(2, 3)", "not a scalar"});
}
TEST(Misuse, BackwardWithAGradientOfTheWrongShape) {
  expect_error<ShapeError>(
      [] {
        auto x = Tensor32::ones({2, 3}).set_requires_grad();
        exp(x).backward(Tensor32::ones({3, 2}));
      },
      {"backward", "(3, 2)", "(2, 3)"});
}
TEST(Misuse, BackwardWithoutAnyParameter) {
  expect_error<AutogradError>([] { sum(a23).backward(); }, {"backward", "does not require grad"});
}
TEST(Misuse, MarkingANonLeaf) {
  expect_error<AutogradError>(
      [] {
        auto x = Tensor32::ones({2}).set_requires_grad();
        exp(x).set_requires_grad();
      },
      {"set_requires_grad", "leaf", "exp"});
}
TEST(Misuse, UndefinedTensor) {
  expect_error<ValueError>([] { Tensor32().shape(); }, {"undefined tensor"});
}
TEST(Misuse, MaxOverAnEmptyAxis) {
  expect_error<ValueError>([] { max(Tensor32::ones({0, 3}), 0); }, {"max", "empty", "(0, 3)"});
}

}  // namespace
}  // namespace attend
