// Misuse of the optimizers: bad hyperparameters and parameter lists, gradients of the wrong shape
// and broken state, each refused with a message that names the problem, changing nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "attend/core/error.h"
#include "attend/ops/elementwise.h"
#include "attend/train/optimizer.h"
#include "harness/expect_error.h"
#include "train/optimizer_fixtures.h"

namespace attend {
namespace {

using optimizer_fixtures::gradient_values;
using optimizer_fixtures::make_parameters;
using optimizer_fixtures::set_gradient;
using train::Adam;
using train::AdamOptions;
using train::AdamW;
using train::AdamWOptions;
using train::NamedTensors;
using train::Sgd;
using train::SgdOptions;

TEST(OptimizerMisuse, BadHyperparameters) {
  const auto parameters = make_parameters<double>();
  expect_error<ValueError>([&] { Adam<double>(parameters, AdamOptions{-1.0}); }, {"Adam", "learning_rate", "-1"});
  expect_error<ValueError>([&] { Sgd<double>(parameters, SgdOptions{std::nan("")}); }, {"SGD", "learning_rate", "nan"});
  expect_error<ValueError>([&] { Adam<double>(parameters, AdamOptions{1e-3, 1.0}); }, {"Adam", "beta1", "[0, 1)", "1"});
  expect_error<ValueError>([&] { Adam<double>(parameters, AdamOptions{1e-3, 0.9, -0.5}); }, {"beta2", "-0.5"});
  expect_error<ValueError>([&] { Adam<double>(parameters, AdamOptions{1e-3, 0.9, 0.999, -1e-8}); }, {"eps", "-1e-08"});
  AdamWOptions adamw;
  adamw.weight_decay = -0.1;
  expect_error<ValueError>([&] { AdamW<double>(parameters, adamw); }, {"AdamW", "weight_decay", "-0.1"});
  expect_error<ValueError>([&] { Sgd<double>(parameters, SgdOptions{0.1, -0.9}); }, {"SGD", "momentum", "-0.9"});
  SgdOptions nesterov;
  nesterov.nesterov = true;
  expect_error<ValueError>([&] { Sgd<double>(parameters, nesterov); }, {"nesterov", "momentum 0"});
  nesterov.momentum = 0.9;
  nesterov.dampening = 0.1;
  expect_error<ValueError>([&] { Sgd<double>(parameters, nesterov); }, {"nesterov", "dampening 0.1"});

  Adam<double> optimizer(parameters);
  expect_error<ValueError>([&] { optimizer.set_learning_rate(-0.5); }, {"Adam", "learning_rate", "-0.5"});
  expect_error<ValueError>([&] { optimizer.set_learning_rate(std::numeric_limits<double>::infinity()); }, {"inf"});
  EXPECT_EQ(optimizer.learning_rate(), 1e-3);
  optimizer.set_learning_rate(0.0);  // allowed: freezes the parameters
  EXPECT_EQ(optimizer.learning_rate(), 0.0);
}

TEST(OptimizerMisuse, BadParameterLists) {
  expect_error<ValueError>([] { Adam<double>(NamedTensors<double>{}); }, {"Adam", "empty"});
  auto w = Tensor64::ones({2, 3});
  w.set_requires_grad();
  expect_error<ValueError>([&] { Sgd<double>({{"w", w}, {"w", Tensor64::ones({1})}}); }, {"'w'", "twice"});
  expect_error<ValueError>([&] { Sgd<double>({{"", w}}); }, {"empty name"});
  expect_error<ValueError>([&] { Sgd<double>({{"ghost", Tensor64()}}); }, {"'ghost'", "undefined"});
  expect_error<ValueError>([&] { Sgd<double>({{"twice", mul_scalar(w, 2.0)}}); }, {"'twice'", "not a leaf", "(2, 3)"});
  expect_error<ValueError>(
      [&] {
        Sgd<double>({{"wt", w.detach().transpose(0, 1)}});
      },
      {"'wt'", "not contiguous", "(3, 2)"});
  expect_error<ValueError>(
      [&] {
        Sgd<double>({{"encoder", w}, {"decoder", w}});
      },
      {"'encoder'", "'decoder'", "share memory"});
  // Disjoint rows of one buffer are fine; overlapping ones are not.
  const auto buffer = Tensor64::zeros({4, 3});
  EXPECT_NO_THROW(Sgd<double>({{"top", buffer.slice(0, 0, 2)}, {"bottom", buffer.slice(0, 2, 4)}}));
  expect_error<ValueError>(
      [&] {
        Sgd<double>({{"top", buffer.slice(0, 0, 3)}, {"bottom", buffer.slice(0, 2, 4)}});
      },
      {"'top'", "'bottom'", "share memory"});
}

TEST(OptimizerMisuse, GradientOfTheWrongShapeChangesNothing) {
  const auto parameters = make_parameters<double>();
  Adam<double> optimizer(parameters);
  set_gradient(parameters[0].second, gradient_values(0, 0));
  parameters[1].second.impl()->grad = Tensor64::ones({4});
  const auto before = parameters[0].second.to_vector();
  expect_error<ShapeError>([&] { optimizer.step(); }, {"Adam::step", "'b'", "(4)", "(3)"});
  EXPECT_EQ(parameters[0].second.to_vector(), before);
  EXPECT_EQ(optimizer.step_count(), 0);
}

TEST(OptimizerMisuse, LoadStateValidatesNamesShapesAndCounts) {
  const auto parameters = make_parameters<float>();
  Adam<float> optimizer(parameters);
  set_gradient(parameters[0].second, gradient_values(0, 0));
  set_gradient(parameters[1].second, gradient_values(0, 1));
  optimizer.step();
  const auto good = optimizer.state();
  auto with = [&](const std::string& name, Tensor32 replacement) {
    auto state = good;
    for (auto& [n, t] : state) {
      if (n == name) t = replacement;
    }
    return state;
  };
  auto without = [&](const std::string& name) {
    NamedTensors<float> state;
    for (const auto& entry : good) {
      if (entry.first != name) state.push_back(entry);
    }
    return state;
  };
  expect_error<ValueError>([&] { optimizer.load_state(without("adam.v.b")); },
                           {"Adam::load_state", "missing", "'adam.v.b'"});
  auto extra = good;
  extra.emplace_back("adam.m.bias", Tensor32::zeros({3}));
  expect_error<ValueError>([&] { optimizer.load_state(extra); }, {"unexpected", "'adam.m.bias'", "'w', 'b'"});
  auto repeated = good;
  repeated.push_back(good[1]);
  expect_error<ValueError>([&] { optimizer.load_state(repeated); }, {"'adam.step.w'", "twice"});
  expect_error<ShapeError>(
      [&] {
        optimizer.load_state(with("adam.m.w", Tensor32::zeros({3, 2})));
      },
      {"'adam.m.w'", "(3, 2)", "'w'", "(2, 3)"});
  expect_error<ShapeError>([&] { optimizer.load_state(with("step", Tensor32::zeros({1}))); },
                           {"'step'", "shape ()", "(1)"});
  expect_error<ValueError>([&] { optimizer.load_state(with("step", Tensor32::scalar(1.5f))); },
                           {"'step'", "integer", "1.5"});
  expect_error<ValueError>([&] { optimizer.load_state(with("adam.step.b", Tensor32::scalar(-1.0f))); },
                           {"'adam.step.b'", "-1"});
  expect_error<ValueError>([&] { optimizer.load_state(with("step", Tensor32::scalar(33554432.0f))); },
                           {"'step'", "[0, 16777216]"});
  expect_error<ValueError>([&] { optimizer.load_state(with("adam.step.w", Tensor32::scalar(2.0f))); },
                           {"'adam.step.w' = 2", "exceeds 'step' = 1"});
  // The state of another optimizer kind names what was expected instead.
  Sgd<float> sgd(parameters, SgdOptions{0.1, 0.9});
  expect_error<ValueError>([&] { sgd.load_state(good); },
                           {"SGD::load_state", "unexpected", "'sgd.momentum.<parameter>'"});

  // A failed load changes nothing.
  const auto after_errors = optimizer.state();
  ASSERT_EQ(after_errors.size(), good.size());
  for (size_t k = 0; k < good.size(); ++k) EXPECT_EQ(after_errors[k].second.to_vector(), good[k].second.to_vector());
  EXPECT_EQ(optimizer.step_count(), 1);
}

}  // namespace
}  // namespace attend
