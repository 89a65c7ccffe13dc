#include "attend/core/autograd.h"

#include <algorithm>
#include <atomic>
#include <unordered_map>
#include <unordered_set>

#include "attend/core/error.h"
#include "core/strided_loop.h"

namespace attend {
namespace {

thread_local bool tls_grad_enabled = true;
std::atomic<uint64_t> next_sequence{0};

// a + b for two gradients of one shape (checked by the caller): the tape sums the gradients that
// reach a tensor by several paths without ops/, the layer above it, but with ops' own loop, so
// the sums are bitwise those of add(a, b).
template <typename T>
Tensor<T> sum_of_gradients(const Tensor<T>& a, const Tensor<T>& b) {
  return detail::map_binary_over(a.shape(), a, b, [](T x, T y) { return x + y; });
}

}  // namespace

bool grad_enabled() { return tls_grad_enabled; }
void set_grad_enabled(bool enabled) { tls_grad_enabled = enabled; }

template <typename T>
bool any_requires_grad(const std::vector<Tensor<T>>& inputs) {
  if (!tls_grad_enabled) return false;
  return std::any_of(inputs.begin(), inputs.end(), [](const Tensor<T>& t) { return t.defined() && t.requires_grad(); });
}

template <typename T>
Tensor<T> record_op(const char* name, Tensor<T> output, std::vector<Tensor<T>> inputs, BackwardFunction<T> backward) {
  if (!any_requires_grad(inputs)) return output;
  auto node = std::make_shared<Node<T>>();
  node->name = name;
  node->sequence = next_sequence.fetch_add(1);
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  // The output may alias a user's tensor (a view); give it its own autograd state.
  Tensor<T> result = output.as_strided(output.shape(), output.strides(), output.offset());
  result.impl()->requires_grad = true;
  result.impl()->grad_fn = std::move(node);
  return result;
}

template <typename T>
void run_backward(const Tensor<T>& output, const Tensor<T>& gradient, bool retain_graph) {
  ATTEND_CHECK(output.requires_grad(), AutogradError,
               "backward: tensor of shape {} does not require grad (no parameter reaches it, or it "
               "was computed under NoGradGuard)",
               shape_string(output.shape()));
  Tensor<T> seed = gradient;
  if (!seed.defined()) {
    ATTEND_CHECK(output.numel() == 1, AutogradError,
                 "backward: output of shape {} is not a scalar; pass a gradient of that shape",
                 shape_string(output.shape()));
    seed = Tensor<T>::ones(output.shape());
  }
  ATTEND_CHECK(seed.shape() == output.shape(), ShapeError,
               "backward: gradient of shape {} does not match output of shape {}", shape_string(seed.shape()),
               shape_string(output.shape()));

  NoGradGuard no_grad;
  // The first gradient of a leaf becomes its .grad. A copy, unless nothing else can see it: a
  // fresh row-major buffer held only by this handle (as the fused attention's dq, dk, dv are)
  // is taken as it is, which saves a second copy of every such gradient at the peak.
  auto accumulate_leaf = [](const Tensor<T>& leaf, const Tensor<T>& grad) {
    auto& slot = leaf.impl()->grad;
    if (slot.defined()) {
      slot = sum_of_gradients(slot, grad);
      return;
    }
    const auto& impl = grad.impl();
    const bool sole_whole_buffer = impl.use_count() == 1 && impl->buffer.use_count() == 1 && impl->offset == 0 &&
                                   grad.is_contiguous() && impl->buffer->size() == grad.numel() &&
                                   !impl->requires_grad && !impl->grad_fn && !impl->grad.defined();
    slot = sole_whole_buffer ? grad : grad.contiguous().clone();
  };
  if (output.is_leaf()) {
    accumulate_leaf(output, seed);
    return;
  }

  // Collect the nodes reachable from the output; run them newest first (reverse tape order).
  // Shared ownership: releasing a node's inputs may drop the last other reference to a parent.
  std::vector<std::shared_ptr<Node<T>>> order;
  std::unordered_set<Node<T>*> seen;
  std::vector<std::shared_ptr<Node<T>>> stack = {output.grad_fn()};
  seen.insert(stack.back().get());
  while (!stack.empty()) {
    std::shared_ptr<Node<T>> node = stack.back();
    stack.pop_back();
    ATTEND_CHECK(!node->released, AutogradError,
                 "backward: the graph through '{}' was already freed by an earlier backward; pass "
                 "retain_graph=true to the first call to backward twice",
                 node->name);
    order.push_back(node);
    for (const Tensor<T>& input : node->inputs) {
      if (!input.defined() || !input.requires_grad() || input.is_leaf()) continue;
      std::shared_ptr<Node<T>> parent = input.grad_fn();
      if (seen.insert(parent.get()).second) stack.push_back(std::move(parent));
    }
  }
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a->sequence > b->sequence; });

  std::unordered_map<Node<T>*, Tensor<T>> pending;
  pending[output.grad_fn().get()] = seed;
  for (const std::shared_ptr<Node<T>>& node : order) {
    auto found = pending.find(node.get());
    if (found == pending.end()) continue;
    const Tensor<T> grad_output = std::move(found->second);
    pending.erase(found);
    std::vector<Tensor<T>> grads = node->backward(grad_output);
    ATTEND_CHECK(grads.size() == node->inputs.size(), AutogradError,
                 "backward of '{}' returned {} gradients for {} inputs", node->name, grads.size(), node->inputs.size());
    for (size_t i = 0; i < grads.size(); ++i) {
      const Tensor<T>& input = node->inputs[i];
      if (!input.defined() || !input.requires_grad() || !grads[i].defined()) continue;
      ATTEND_CHECK(grads[i].shape() == input.shape(), AutogradError,
                   "backward of '{}' returned a gradient of shape {} for input {} of shape {}", node->name,
                   shape_string(grads[i].shape()), i, shape_string(input.shape()));
      if (input.is_leaf()) {
        accumulate_leaf(input, grads[i]);
      } else {
        Tensor<T>& slot = pending[input.grad_fn().get()];
        slot = slot.defined() ? sum_of_gradients(slot, grads[i]) : grads[i];
      }
    }
    if (!retain_graph) {
      node->inputs.clear();
      node->backward = nullptr;
      node->released = true;
    }
  }
}

template bool any_requires_grad(const std::vector<Tensor<float>>&);
template bool any_requires_grad(const std::vector<Tensor<double>>&);
template Tensor<float> record_op(const char*, Tensor<float>, std::vector<Tensor<float>>, BackwardFunction<float>);
template Tensor<double> record_op(const char*, Tensor<double>, std::vector<Tensor<double>>, BackwardFunction<double>);
template void run_backward(const Tensor<float>&, const Tensor<float>&, bool);
template void run_backward(const Tensor<double>&, const Tensor<double>&, bool);

}  // namespace attend
