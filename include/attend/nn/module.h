// Modules: objects that own named parameters and child modules (as in PyTorch's nn.Module).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attend/core/error.h"
#include "attend/core/random.h"
#include "attend/core/tensor.h"

namespace attend::nn {

// While one is alive on this thread, Linear and Embedding (the large tables) start at zero instead
// of drawing their initial values, and do not advance the generator: for a model whose every
// parameter a checkpoint overwrites next (load_bert_model, after checking that the file holds
// them all). Drawing MiniLM's 22.7 million initial values took about half a second of its load.
class SkipParameterInit {
 public:
  SkipParameterInit() { ++depth(); }
  ~SkipParameterInit() { --depth(); }
  SkipParameterInit(const SkipParameterInit&) = delete;
  SkipParameterInit& operator=(const SkipParameterInit&) = delete;

  static bool active() { return depth() > 0; }

 private:
  static int& depth() {
    thread_local int nesting = 0;
    return nesting;
  }
};

template <typename T>
class Module {
 public:
  virtual ~Module() = default;

  // Parameters of this module and its children, named like "attention.query.weight", in
  // registration order (depth first).
  std::vector<std::pair<std::string, Tensor<T>>> named_parameters() const {
    std::vector<std::pair<std::string, Tensor<T>>> all = parameters_;
    for (const auto& [name, child] : children_) {
      for (auto& [child_name, parameter] : child->named_parameters())
        all.emplace_back(name + "." + child_name, parameter);
    }
    return all;
  }

  // This module's descendants (not itself), named like their parameters' prefixes
  // ("encoder.layers.0.attention.query"), depth first in registration order.
  std::vector<std::pair<std::string, Module<T>*>> named_modules() const {
    std::vector<std::pair<std::string, Module<T>*>> all;
    for (const auto& [name, child] : children_) {
      all.emplace_back(name, child.get());
      for (auto& [child_name, module] : child->named_modules()) all.emplace_back(name + "." + child_name, module);
    }
    return all;
  }

  std::vector<Tensor<T>> parameters() const {
    std::vector<Tensor<T>> all;
    for (auto& [name, parameter] : named_parameters()) all.push_back(parameter);
    return all;
  }

  int64_t parameter_count() const {
    int64_t count = 0;
    for (const auto& parameter : parameters()) count += parameter.numel();
    return count;
  }

  // Training mode switches dropout on; evaluation mode off. Applies to every child.
  void train(bool training = true) {
    training_ = training;
    for (auto& [name, child] : children_) child->train(training);
  }
  void eval() { train(false); }
  bool is_training() const { return training_; }

  void zero_grad() {
    for (auto& parameter : parameters()) parameter.zero_grad();
  }

  // The random streams (dropout seeds) of this module and its children, named like parameters.
  // A training checkpoint saves their states so that a resumed run draws the same masks.
  std::vector<std::pair<std::string, Generator*>> named_generators() const {
    std::vector<std::pair<std::string, Generator*>> all = generators_;
    for (const auto& [name, child] : children_) {
      for (auto& [child_name, generator] : child->named_generators())
        all.emplace_back(name + "." + child_name, generator);
    }
    return all;
  }

  Module() = default;
  // Not copyable: registered generators point into the module itself.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

 protected:
  // Registers a leaf that requires grad under `name`; returns it.
  Tensor<T> register_parameter(const std::string& name, Tensor<T> value) {
    for (const auto& [existing, p] : parameters_) {
      ATTEND_CHECK(existing != name, ValueError, "register_parameter: '{}' is registered twice", name);
    }
    value.set_requires_grad(true);
    parameters_.emplace_back(name, value);
    return value;
  }

  // Registers a random stream owned by this module (a member, so it lives as long as the module).
  void register_generator(const std::string& name, Generator& generator) { generators_.emplace_back(name, &generator); }

  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    children_.emplace_back(name, module);
    return module;
  }

 private:
  std::vector<std::pair<std::string, Tensor<T>>> parameters_;
  std::vector<std::pair<std::string, std::shared_ptr<Module<T>>>> children_;
  std::vector<std::pair<std::string, Generator*>> generators_;
  bool training_ = true;
};

}  // namespace attend::nn
