// nn::Dropout (training and evaluation, the seed stream, thread invariance, the harness) and the
// activation layers of nn/activation.h, the other parameter-free element-wise layers.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "attend/nn/activation.h"
#include "attend/nn/dropout.h"
#include "harness/op_harness.h"

namespace attend {
namespace {

using testing::InputSpec;
using testing::make_case;

TEST(DropoutModule, TrainingDropsAboutPAndScalesTheRest) {
  Generator generator(1);
  nn::Dropout<double> dropout(0.3, generator);
  EXPECT_TRUE(dropout.is_training());
  EXPECT_EQ(dropout.parameter_count(), 0);
  const auto y = dropout.forward(Tensor64::ones({20000})).to_vector();
  int64_t kept = 0;
  for (double v : y) {
    if (v == 0) continue;
    EXPECT_DOUBLE_EQ(v, 1 / 0.7);
    ++kept;
  }
  EXPECT_NEAR(kept / 20000.0, 0.7, 0.015);  // standard error 0.0032
}

TEST(DropoutModule, EvaluationAndZeroPAreTheIdentity) {
  Generator a(2), b(2);
  nn::Dropout<float> dropout(0.5, a), fresh(0.5, b);
  const auto x = Tensor32::randn({100}, a);
  dropout.eval();
  const auto y = dropout.forward(x);
  EXPECT_TRUE(y.shares_storage_with(x));
  EXPECT_EQ(y.to_vector(), x.to_vector());
  // Evaluation does not consume a seed: back in training, the first mask is a fresh layer's first.
  dropout.train();
  EXPECT_EQ(dropout.forward(x).to_vector(), fresh.forward(x).to_vector());
  Generator c(3);
  nn::Dropout<float> none(0.0, c);
  EXPECT_EQ(none.forward(x).to_vector(), x.to_vector());
}

TEST(DropoutModule, SeedStreamIsReproducibleAndAdvancesPerCall) {
  Generator a(7), b(7);
  nn::Dropout<float> first(0.5, a), second(0.5, b);
  const auto x = Tensor32::ones({256});
  const auto a1 = first.forward(x).to_vector(), a2 = first.forward(x).to_vector();
  EXPECT_NE(a1, a2);  // a new mask every call
  EXPECT_EQ(second.forward(x).to_vector(), a1);
  EXPECT_EQ(second.forward(x).to_vector(), a2);
}

TEST(DropoutModule, ThreadCountDoesNotChangeTheMask) {
  Generator source(4);
  const auto x = Tensor32::randn({50000}, source);
  std::vector<float> runs[2];
  for (int threads : {1, 2}) {
    ThreadCountGuard guard(threads);
    Generator generator(9);
    nn::Dropout<float> dropout(0.2, generator);
    runs[threads - 1] = dropout.forward(x).to_vector();
  }
  EXPECT_EQ(runs[0], runs[1]);
}

TEST(DropoutModule, HarnessAndGradientIsTheScaledMask) {
  // A layer built from the same seed inside each run: every run sees the same mask.
  EXPECT_OP_OK(make_case("nn::Dropout p=0.4 (5, 7)", {InputSpec{{5, 7}}}, [](const auto& x) {
    Generator generator(5);
    nn::Dropout<typename std::decay_t<decltype(x[0])>::value_type> dropout(0.4, generator);
    return dropout.forward(x[0]);
  }));
  Generator generator(6);
  nn::Dropout<double> dropout(0.25, generator);
  Tensor64 x = Tensor64::ones({64}).set_requires_grad(true);
  const auto y = dropout.forward(x);
  sum(y).backward();
  EXPECT_EQ(x.grad().to_vector(), y.to_vector());  // d y_i / d x_i = keep_i / (1 - p), and x = 1
}

TEST(DropoutModuleMisuse, ProbabilityOfOne) {
  Generator generator(0);
  try {
    nn::Dropout<float>(1.0, generator);
    ADD_FAILURE() << "no exception";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("Dropout: p must be in [0, 1), got 1"), std::string::npos) << e.what();
  }
}

TEST(LayersActivation, ModulesApplyTheirFunction) {
  const auto x = Tensor64::from_vector({4}, {-2, -0.5, 0, 1.5});
  EXPECT_EQ(nn::ReLU<double>().forward(x).to_vector(), (std::vector<double>{0, 0, 0, 1.5}));
  const auto s = nn::Sigmoid<double>().forward(x).to_vector();
  const auto t = nn::Tanh<double>().forward(x).to_vector();
  const auto g = nn::GELU<double>().forward(x).to_vector();
  for (int64_t i = 0; i < 4; ++i) {
    const double v = x.data()[i];
    EXPECT_NEAR(s[i], 1 / (1 + std::exp(-v)), 1e-15);
    EXPECT_NEAR(t[i], std::tanh(v), 1e-15);
    EXPECT_NEAR(g[i], 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))), 1e-15);
  }
  EXPECT_EQ(nn::GELU<float>().parameter_count(), 0);
}

}  // namespace
}  // namespace attend
