// Optimizers against a float64 hand computation, closed forms, checkpoint round trips, and one
// small end-to-end fit (clipping: clip_grad_norm_test.cc; misuse: optimizer_misuse_test.cc).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/core/random.h"
#include "attend/nn/linear.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/loss.h"
#include "attend/ops/matmul.h"
#include "attend/ops/reduction.h"
#include "attend/train/optimizer.h"
#include "harness/expect_error.h"
#include "train/optimizer_fixtures.h"

namespace attend {
namespace {

using train::Adam;
using train::AdamOptions;
using train::AdamW;
using train::AdamWOptions;
using train::NamedTensors;
using train::Optimizer;
using train::Sgd;
using train::SgdOptions;
using namespace optimizer_fixtures;  // NOLINT: the shared parameters and gradients

// ---- the float64 hand computation ----

struct ReferenceParameter {
  std::vector<double> value;
  std::vector<double> first;   // SGD velocity, or Adam's m
  std::vector<double> second;  // Adam's v
  int64_t updates = 0;         // this parameter's own count, for the bias correction
};

template <typename T>
std::vector<ReferenceParameter> reference_parameters() {
  std::vector<ReferenceParameter> reference;
  for (size_t p = 0; p < kShapes.size(); ++p) {
    const auto values = rounded<T>(initial_values(p));
    reference.push_back({values, std::vector<double>(values.size(), 0.0), std::vector<double>(values.size(), 0.0), 0});
  }
  return reference;
}

// torch.optim.SGD, written out.
void reference_sgd(ReferenceParameter& p, const std::vector<double>& gradient, const SgdOptions& o, double lr) {
  ++p.updates;
  for (size_t i = 0; i < p.value.size(); ++i) {
    const double g = gradient[i] + o.weight_decay * p.value[i];
    double direction = g;
    if (o.momentum != 0) {
      p.first[i] = p.updates == 1 ? g : o.momentum * p.first[i] + (1 - o.dampening) * g;
      direction = o.nesterov ? g + o.momentum * p.first[i] : p.first[i];
    }
    p.value[i] -= lr * direction;
  }
}

// Kingma & Ba's Algorithm 1 with explicit m_hat and v_hat (the optimizer never forms them).
void reference_adam(ReferenceParameter& p, const std::vector<double>& gradient, const AdamOptions& o, double lr,
                    bool decoupled) {
  ++p.updates;
  const double t = static_cast<double>(p.updates);
  for (size_t i = 0; i < p.value.size(); ++i) {
    double g = gradient[i];
    if (decoupled) {
      p.value[i] -= lr * o.weight_decay * p.value[i];
    } else {
      g += o.weight_decay * p.value[i];
    }
    p.first[i] = o.beta1 * p.first[i] + (1 - o.beta1) * g;
    p.second[i] = o.beta2 * p.second[i] + (1 - o.beta2) * g * g;
    const double m_hat = p.first[i] / (1 - std::pow(o.beta1, t));
    const double v_hat = p.second[i] / (1 - std::pow(o.beta2, t));
    p.value[i] -= lr * m_hat / (std::sqrt(v_hat) + o.eps);
  }
}

using ReferenceUpdate = std::function<void(ReferenceParameter&, const std::vector<double>&, double lr)>;
template <typename T>
using MakeOptimizer = std::function<std::unique_ptr<Optimizer<T>>(NamedTensors<T>)>;

ReferenceUpdate sgd_reference(const SgdOptions& o) {
  return [o](ReferenceParameter& p, const std::vector<double>& g, double lr) { reference_sgd(p, g, o, lr); };
}
ReferenceUpdate adam_reference(const AdamOptions& o, bool decoupled) {
  return [o, decoupled](ReferenceParameter& p, const std::vector<double>& g, double lr) {
    reference_adam(p, g, o, lr, decoupled);
  };
}
template <typename T>
MakeOptimizer<T> make_sgd(const SgdOptions& o) {
  return [o](NamedTensors<T> p) { return std::make_unique<Sgd<T>>(p, o); };
}
template <typename T>
MakeOptimizer<T> make_adam(const AdamOptions& o) {
  return [o](NamedTensors<T> p) { return std::make_unique<Adam<T>>(p, o); };
}
template <typename T>
MakeOptimizer<T> make_adamw(const AdamWOptions& o) {
  return [o](NamedTensors<T> p) { return std::make_unique<AdamW<T>>(p, o); };
}

// Runs `steps` steps of the optimizer and of the reference side by side, comparing every
// parameter after every step. "b" gets no gradient at the steps in `b_skips`; the learning rate
// is halved from step 3 on (as a schedule would).
template <typename T>
void check_against_reference(const MakeOptimizer<T>& make, const ReferenceUpdate& reference_update, double lr,
                             const std::string& label, const std::vector<int>& b_skips = {}, int steps = 5) {
  SCOPED_TRACE(label);
  const auto parameters = make_parameters<T>();
  auto reference = reference_parameters<T>();
  auto optimizer = make(parameters);
  for (int step = 0; step < steps; ++step) {
    if (step == 3) {
      lr /= 2;
      optimizer->set_learning_rate(lr);
    }
    optimizer->zero_grad();
    for (size_t p = 0; p < parameters.size(); ++p) {
      if (p == 1 && std::find(b_skips.begin(), b_skips.end(), step) != b_skips.end()) continue;
      const auto gradient = rounded<T>(gradient_values(step, p));
      set_gradient(parameters[p].second, gradient);
      reference_update(reference[p], gradient, lr);
    }
    optimizer->step();
    for (size_t p = 0; p < parameters.size(); ++p) {
      expect_matches(parameters[p].second, reference[p].value, kNames[p] + " after step " + std::to_string(step + 1));
    }
  }
  EXPECT_EQ(optimizer->step_count(), steps);
}

template <typename T>
class SgdReference : public ::testing::Test {};
template <typename T>
class AdamReference : public ::testing::Test {};
template <typename T>
class OptimizerState : public ::testing::Test {};
using ElementTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(SgdReference, ElementTypes);
TYPED_TEST_SUITE(AdamReference, ElementTypes);
TYPED_TEST_SUITE(OptimizerState, ElementTypes);

std::vector<std::pair<std::string, SgdOptions>> sgd_configurations() {
  SgdOptions plain;
  plain.learning_rate = 0.1;
  SgdOptions momentum = plain;
  momentum.momentum = 0.9;
  SgdOptions damped = momentum;
  damped.dampening = 0.1;
  damped.weight_decay = 0.05;
  SgdOptions nesterov = plain;
  nesterov.momentum = 0.8;
  nesterov.nesterov = true;
  nesterov.weight_decay = 0.01;
  return {{"plain", plain}, {"momentum", momentum}, {"momentum+dampening+decay", damped}, {"nesterov+decay", nesterov}};
}

std::vector<std::pair<std::string, AdamOptions>> adam_configurations() {
  AdamOptions defaults;
  defaults.learning_rate = 0.01;
  AdamOptions decay = defaults;
  decay.weight_decay = 0.1;
  AdamOptions other = defaults;
  other.beta1 = 0.5;
  other.beta2 = 0.9;
  other.eps = 1e-3;
  other.weight_decay = 0.02;
  return {{"defaults", defaults}, {"weight decay", decay}, {"betas 0.5/0.9, eps 1e-3", other}};
}

TYPED_TEST(SgdReference, MatchesFloat64HandComputation) {
  using T = TypeParam;
  for (const auto& [label, options] : sgd_configurations()) {
    check_against_reference<T>(make_sgd<T>(options), sgd_reference(options), options.learning_rate, label);
  }
}

TYPED_TEST(AdamReference, MatchesFloat64HandComputation) {
  using T = TypeParam;
  for (const auto& [label, options] : adam_configurations()) {
    check_against_reference<T>(make_adam<T>(options), adam_reference(options, false), options.learning_rate,
                               "Adam " + label);
    AdamWOptions w;
    static_cast<AdamOptions&>(w) = options;
    if (w.weight_decay == 0) w.weight_decay = 0.01;
    check_against_reference<T>(make_adamw<T>(w), adam_reference(w, true), w.learning_rate, "AdamW " + label);
  }
}

// A parameter without a gradient is left alone, and its own count (not the global step) drives
// its momentum start and bias correction when its gradients resume.
TYPED_TEST(OptimizerState, SkipsParametersWithoutGradients) {
  using T = TypeParam;
  const std::vector<int> skips = {0, 2};  // "b" first gets a gradient at the second step
  SgdOptions sgd;
  sgd.learning_rate = 0.1;
  sgd.momentum = 0.9;
  sgd.dampening = 0.3;
  check_against_reference<T>(make_sgd<T>(sgd), sgd_reference(sgd), sgd.learning_rate, "SGD", skips);
  AdamOptions adam;
  adam.learning_rate = 0.01;
  check_against_reference<T>(make_adam<T>(adam), adam_reference(adam, false), adam.learning_rate, "Adam", skips);

  // Bitwise: a skipped step changes neither "b" nor its state.
  const auto parameters = make_parameters<T>();
  Adam<T> optimizer(parameters, adam);
  set_gradient(parameters[0].second, gradient_values(0, 0));
  const auto before = parameters[1].second.to_vector();
  optimizer.step();
  EXPECT_EQ(parameters[1].second.to_vector(), before);
  for (const auto& [name, tensor] : optimizer.state()) {
    if (name == "adam.step.b" || name == "adam.m.b" || name == "adam.v.b") {
      for (T v : tensor.to_vector()) EXPECT_EQ(v, T(0)) << name;
    }
  }
}

TYPED_TEST(OptimizerState, ZeroGradDropsEveryGradient) {
  using T = TypeParam;
  const auto parameters = make_parameters<T>();
  Sgd<T> optimizer(parameters);
  for (size_t p = 0; p < parameters.size(); ++p) set_gradient(parameters[p].second, gradient_values(0, p));
  optimizer.zero_grad();
  for (const auto& [name, parameter] : parameters) EXPECT_FALSE(parameter.grad().defined()) << name;
  const auto before = parameters[0].second.to_vector();
  optimizer.step();  // nothing to do
  EXPECT_EQ(parameters[0].second.to_vector(), before);
  EXPECT_EQ(optimizer.step_count(), 1);
}

// Gradients from a loss of the parameters, so that any drift in the resumed state would show.
template <typename T>
void train_steps(const NamedTensors<T>& parameters, Optimizer<T>& optimizer, int from, int to) {
  for (int step = from; step < to; ++step) {
    optimizer.zero_grad();
    for (size_t p = 0; p < parameters.size(); ++p) {
      if (p == 1 && step == 2) continue;  // exercise per-parameter counts across the checkpoint
      const auto target = gradient_values(step, p);
      mse_loss(parameters[p].second, Tensor<T>::from_vector(kShapes[p], std::vector<T>(target.begin(), target.end())))
          .backward();
    }
    optimizer.step();
  }
}

template <typename T>
NamedTensors<T> copy_parameters(const NamedTensors<T>& parameters) {
  NamedTensors<T> copy;
  for (const auto& [name, parameter] : parameters) {
    auto tensor = Tensor<T>::from_vector(parameter.shape(), parameter.to_vector());
    tensor.set_requires_grad();
    copy.emplace_back(name, tensor);
  }
  return copy;
}

TYPED_TEST(OptimizerState, ResumeFromExportedStateIsBitwiseIdentical) {
  using T = TypeParam;
  SgdOptions sgd;
  sgd.learning_rate = 0.05;
  sgd.momentum = 0.9;
  sgd.nesterov = true;
  sgd.weight_decay = 0.01;
  AdamOptions adam;
  adam.learning_rate = 0.01;
  adam.weight_decay = 0.1;
  AdamWOptions adamw;
  adamw.learning_rate = 0.02;
  const std::vector<std::pair<std::string, MakeOptimizer<T>>> makers = {
      {"SGD", make_sgd<T>(sgd)}, {"Adam", make_adam<T>(adam)}, {"AdamW", make_adamw<T>(adamw)}};
  const int total = 8;
  for (const auto& [label, make] : makers) {
    SCOPED_TRACE(label);
    const auto straight = make_parameters<T>();
    auto straight_optimizer = make(straight);
    train_steps(straight, *straight_optimizer, 0, total);

    const auto first_half = make_parameters<T>();
    auto first_optimizer = make(first_half);
    train_steps(first_half, *first_optimizer, 0, total / 2);
    const auto saved_state = first_optimizer->state();
    const auto saved_parameters = copy_parameters(first_half);
    // The exported state is a copy: the first run continuing must not change it.
    train_steps(first_half, *first_optimizer, total / 2, total);

    auto resumed_optimizer = make(saved_parameters);
    resumed_optimizer->load_state(saved_state);
    EXPECT_EQ(resumed_optimizer->step_count(), total / 2);
    train_steps(saved_parameters, *resumed_optimizer, total / 2, total);

    for (size_t p = 0; p < straight.size(); ++p) {
      EXPECT_EQ(saved_parameters[p].second.to_vector(), straight[p].second.to_vector()) << kNames[p];
      EXPECT_EQ(first_half[p].second.to_vector(), straight[p].second.to_vector()) << kNames[p];
    }
    const auto straight_state = straight_optimizer->state();
    const auto resumed_state = resumed_optimizer->state();
    ASSERT_EQ(straight_state.size(), resumed_state.size());
    for (size_t k = 0; k < straight_state.size(); ++k) {
      EXPECT_EQ(resumed_state[k].first, straight_state[k].first);
      EXPECT_EQ(resumed_state[k].second.to_vector(), straight_state[k].second.to_vector()) << straight_state[k].first;
    }
  }
}

// Updates are elementwise and split by parallel_for: the thread count must not change a bit.
TEST(OptimizerThreads, ResultsIndependentOfThreadCount) {
  Generator generator(11);
  const auto initial = Tensor32::randn({100'003}, generator);
  const auto gradient = Tensor32::randn({100'003}, generator);
  auto run = [&](int threads) {
    ThreadCountGuard guard(threads);
    auto p = Tensor32::from_vector(initial.shape(), initial.to_vector());
    p.set_requires_grad();
    AdamW<float> optimizer({{"p", p}});
    for (int step = 0; step < 2; ++step) {
      p.impl()->grad = gradient.clone();
      optimizer.step();
    }
    return p.to_vector();
  };
  EXPECT_EQ(run(1), run(2));
}

// Data parallelism's split update (train/data_parallel.h) in one process: two optimizers over
// copies of "w" and "b", each stepping its own parameter and then receiving the other's values
// and buffers, match one optimizer's step() bit for bit, counts included; "b" has no gradient at
// step 1, on both.
TEST(OptimizerStepPart, TwoPartsWithExchangedStateEqualOneStep) {
  AdamWOptions options;
  options.learning_rate = 0.02;
  const auto whole = make_parameters<float>();
  AdamW<float> whole_optimizer(whole, options);
  const std::vector<NamedTensors<float>> parts = {copy_parameters(whole), copy_parameters(whole)};
  std::vector<std::unique_ptr<AdamW<float>>> part_optimizers;
  for (const auto& part : parts) part_optimizers.push_back(std::make_unique<AdamW<float>>(part, options));
  for (int step = 0; step < 4; ++step) {
    const std::vector<bool> has_gradient = {true, step != 1};
    whole_optimizer.zero_grad();
    for (size_t p = 0; p < whole.size(); ++p) {
      if (has_gradient[p]) set_gradient(whole[p].second, gradient_values(step, p));
    }
    whole_optimizer.step();
    for (size_t owner = 0; owner < parts.size(); ++owner) {  // owner steps parameter `owner` alone
      part_optimizers[owner]->zero_grad();
      if (has_gradient[owner]) set_gradient(parts[owner][owner].second, gradient_values(step, owner));
      part_optimizers[owner]->step_part(owner, owner + 1, has_gradient);
    }
    for (size_t owner = 0; owner < parts.size(); ++owner) {  // the exchange: owner's values and buffers to the other
      const size_t other = 1 - owner;
      Tensor<float>(parts[other][owner].second).copy_from(parts[owner][owner].second);
      for (int b = 0; b < whole_optimizer.buffer_count(); ++b) {
        std::copy_n(part_optimizers[owner]->buffer(b, owner), whole[owner].second.numel(),
                    part_optimizers[other]->buffer(b, owner));
      }
    }
  }
  for (size_t k = 0; k < parts.size(); ++k) {
    for (size_t p = 0; p < whole.size(); ++p) {
      EXPECT_EQ(parts[k][p].second.to_vector(), whole[p].second.to_vector()) << k << " " << kNames[p];
    }
    const auto expected = whole_optimizer.state(), actual = part_optimizers[k]->state();
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(actual[i].first, expected[i].first);
      EXPECT_EQ(actual[i].second.to_vector(), expected[i].second.to_vector()) << k << " " << expected[i].first;
    }
  }
  // A gradient that disagrees with has_gradient, or a range past the parameters, changes nothing.
  const auto before = parts[0][0].second.to_vector();
  part_optimizers[0]->zero_grad();
  expect_error<ValueError>(
      [&] {
        part_optimizers[0]->step_part(0, 1, {true, true});
      },
      {"AdamW::step_part: parameter 'w' has no gradient but has_gradient says it has one"});
  expect_error<ValueError>(
      [&] {
        part_optimizers[0]->step_part(0, 3, {true, true});
      },
      {"parameters [0, 3) and 2 gradient flags for 2 parameters"});
  EXPECT_EQ(parts[0][0].second.to_vector(), before);
  EXPECT_EQ(part_optimizers[0]->step_count(), 4);
}

TEST(OptimizerStateNames, ExportedNamesAndShapes) {
  const auto parameters = make_parameters<double>();
  auto names = [](const NamedTensors<double>& state) {
    std::vector<std::string> out;
    for (const auto& [name, tensor] : state) out.push_back(name);
    return out;
  };
  Adam<double> adam(parameters);
  const auto state = adam.state();
  EXPECT_EQ(names(state), (std::vector<std::string>{"step", "adam.step.w", "adam.m.w", "adam.v.w", "adam.step.b",
                                                    "adam.m.b", "adam.v.b"}));
  EXPECT_EQ(state[0].second.rank(), 0);
  EXPECT_EQ(state[2].second.shape(), (Shape{2, 3}));
  EXPECT_EQ(names(AdamW<double>(parameters).state())[2], "adamw.m.w");
  EXPECT_EQ(names(Sgd<double>(parameters).state()), (std::vector<std::string>{"step", "sgd.step.w", "sgd.step.b"}));
  SgdOptions momentum;
  momentum.momentum = 0.5;
  EXPECT_EQ(names(Sgd<double>(parameters, momentum).state())[2], "sgd.momentum.w");
}

// ---- closed forms ----

TEST(Sgd, MomentumAndNesterovClosedForm) {
  // Constant gradient 1, lr 0.1, mu 0.9: v = 1, 1.9, 2.71; Nesterov steps by g + mu v = 1.9, 2.71, 3.439.
  for (bool nesterov : {false, true}) {
    auto p = Tensor64::ones({1});
    p.set_requires_grad();
    SgdOptions options;
    options.learning_rate = 0.1;
    options.momentum = 0.9;
    options.nesterov = nesterov;
    Sgd<double> optimizer({{"p", p}}, options);
    for (int step = 0; step < 3; ++step) {
      set_gradient(p, {1.0});
      optimizer.step();
    }
    EXPECT_NEAR(p.item(), nesterov ? 1 - 0.1 * (1.9 + 2.71 + 3.439) : 1 - 0.1 * (1 + 1.9 + 2.71), 1e-15);
  }
}

TEST(Adam, BiasCorrectionMakesConstantGradientStepsEqual) {
  // With a constant gradient g, m_t = (1 - beta1^t) g and v_t = (1 - beta2^t) g^2, so the
  // corrected step is lr g / (|g| + eps) at every t = 1..5: only correct bias correction gives that.
  const double lr = 0.01, g = -0.3, eps = 1e-8;
  auto p = Tensor64::full({1}, 2.0);
  p.set_requires_grad();
  Adam<double> optimizer({{"p", p}}, AdamOptions{lr, 0.9, 0.999, eps, 0.0});
  double expected = 2.0;
  for (int t = 1; t <= 5; ++t) {
    set_gradient(p, {g});
    optimizer.step();
    expected -= lr * g / (std::abs(g) + eps);
    EXPECT_NEAR(p.item(), expected, 1e-14) << "t = " << t;
  }
}

TEST(AdamW, DecayIsDecoupledFromTheMoments) {
  // p_t = p_{t-1} (1 - lr wd) - lr g / (|g| + eps) for a constant gradient.
  const double lr = 0.1, wd = 0.5, g = 0.2, eps = 1e-8;
  auto p = Tensor64::full({1}, 3.0);
  p.set_requires_grad();
  AdamWOptions options;
  options.learning_rate = lr;
  options.weight_decay = wd;
  AdamW<double> optimizer({{"p", p}}, options);
  double expected = 3.0;
  for (int t = 1; t <= 5; ++t) {
    set_gradient(p, {g});
    optimizer.step();
    expected = expected * (1 - lr * wd) - lr * g / (std::abs(g) + eps);
    EXPECT_NEAR(p.item(), expected, 1e-14) << "t = " << t;
  }
}

// Two parameter groups by name: weight decay on the weight, none on the bias and the norm's scale;
// both get the same Adam update. In float64 and float32 (the vectorized kernel).
template <typename T>
void check_weight_decay_groups() {
  const double lr = 0.1, wd = 0.5, g = 0.2, eps = 1e-8;
  std::vector<Tensor<T>> parameters;
  for (int i = 0; i < 3; ++i) {
    parameters.push_back(Tensor<T>::full({17}, T(3)));
    parameters.back().set_requires_grad();
  }
  AdamWOptions options;
  options.learning_rate = lr;
  options.weight_decay = wd;
  options.weight_decay_applies = train::decays_unless_bias_or_norm;
  AdamW<T> optimizer(
      {{"fc.weight", parameters[0]}, {"fc.bias", parameters[1]}, {"attention_norm.weight", parameters[2]}}, options);
  double decayed = 3.0, plain = 3.0;
  for (int t = 1; t <= 3; ++t) {
    for (auto& p : parameters) set_gradient(p, std::vector<double>(17, g));
    optimizer.step();
    decayed = decayed * (1 - lr * wd) - lr * g / (std::abs(g) + eps);
    plain = plain - lr * g / (std::abs(g) + eps);
  }
  const double tolerance = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  EXPECT_NEAR(parameters[0].to_vector()[16], decayed, tolerance);
  EXPECT_NEAR(parameters[1].to_vector()[16], plain, tolerance);
  EXPECT_NEAR(parameters[2].to_vector()[0], plain, tolerance);
}

TEST(AdamW, WeightDecayAppliesOnlyToItsGroup) {
  check_weight_decay_groups<double>();
  check_weight_decay_groups<float>();
  EXPECT_TRUE(train::decays_unless_bias_or_norm("encoder.layers.0.query.weight"));
  EXPECT_TRUE(train::decays_unless_bias_or_norm("embeddings.word.weight"));
  EXPECT_FALSE(train::decays_unless_bias_or_norm("encoder.layers.0.query.bias"));
  EXPECT_FALSE(train::decays_unless_bias_or_norm("embeddings.LayerNorm.weight"));
  EXPECT_FALSE(train::decays_unless_bias_or_norm("layers.1.output_norm.weight"));
}

TEST(Adam, DefaultsArePyTorchs) {
  const AdamOptions adam;
  EXPECT_EQ(adam.learning_rate, 1e-3);
  EXPECT_EQ(adam.beta1, 0.9);
  EXPECT_EQ(adam.beta2, 0.999);
  EXPECT_EQ(adam.eps, 1e-8);
  EXPECT_EQ(adam.weight_decay, 0.0);
  EXPECT_EQ(AdamWOptions().weight_decay, 0.01);
}

// ---- end to end ----

TEST(Adam, FitsALinearLeastSquaresProblem) {
  // y = x A + c with x (32, 4), A (4, 2): a Linear layer (W = A^T) can fit it exactly.
  Generator generator(7);
  const auto x = Tensor32::randn({32, 4}, generator);
  const auto a = Tensor32::from_vector({4, 2}, {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f, 1.0f, -0.5f});
  const auto y = add(matmul(x, a), Tensor32::from_vector({2}, {0.3f, -0.2f}));
  nn::Linear<float> layer(4, 2, true, generator);
  AdamOptions options;
  options.learning_rate = 0.05;
  Adam<float> optimizer(layer.named_parameters(), options);
  const float initial_loss = mse_loss(layer.forward(x), y).item();
  float loss = initial_loss;
  for (int step = 0; step < 300; ++step) {
    optimizer.zero_grad();
    const auto l = mse_loss(layer.forward(x), y);
    loss = l.item();
    l.backward();
    optimizer.step();
  }
  EXPECT_GT(initial_loss, 1.0f);
  EXPECT_LT(loss, 1e-4f);
}

}  // namespace
}  // namespace attend
