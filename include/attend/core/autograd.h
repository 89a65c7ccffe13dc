// Reverse-mode automatic differentiation.
//
// Every differentiable op appends a Node to an implicit tape: the node keeps the op's inputs and
// a function that maps the gradient of the op's output to the gradients of its inputs. Nodes
// carry a global sequence number in creation order, which is a topological order of the graph:
// backward() collects the nodes reachable from the output and runs them from the newest to the
// oldest, accumulating gradients as it goes. Gradients of leaves (tensors marked with
// set_requires_grad) accumulate across calls until zero_grad().
//
// Backward functions run with grad mode off: attend computes first derivatives only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "attend/core/tensor.h"

namespace attend {

// Maps the gradient of an op's output (shape of the output) to one gradient per input (shape of
// that input). An undefined tensor means "no gradient flows to this input".
template <typename T>
using BackwardFunction = std::function<std::vector<Tensor<T>>(const Tensor<T>& grad_output)>;

template <typename T>
struct Node {
  std::string name;
  uint64_t sequence = 0;  // creation order: a valid topological order of the tape
  std::vector<Tensor<T>> inputs;
  BackwardFunction<T> backward;
  bool released = false;  // backward ran without retain_graph: saved tensors are freed
};

// Whether ops record themselves on the tape (thread-local; on by default).
bool grad_enabled();
void set_grad_enabled(bool enabled);

// Turns recording off for the lifetime of the guard (evaluation, optimizer steps).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when grad mode is on and at least one input requires grad.
template <typename T>
bool any_requires_grad(const std::vector<Tensor<T>>& inputs);

// Records `output` as the result of op `name` applied to `inputs`, when any_requires_grad():
// the output then requires grad and its grad_fn runs `backward`. Otherwise returns `output`
// untouched. This is also the public way to define a custom differentiable function.
template <typename T>
Tensor<T> record_op(const char* name, Tensor<T> output, std::vector<Tensor<T>> inputs, BackwardFunction<T> backward);

// Runs reverse mode from `output` seeded with `gradient` (see Tensor::backward).
template <typename T>
void run_backward(const Tensor<T>& output, const Tensor<T>& gradient, bool retain_graph);

}  // namespace attend
