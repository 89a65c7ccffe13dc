// Optimizers (SGD with momentum, Adam, AdamW) and clipping of gradients by their global norm.
//
// An optimizer holds a list of named parameters (as nn::Module::named_parameters() returns
// them) and, per parameter, running state of the parameter's shape. step() reads each
// parameter's accumulated gradient and writes the update into the parameter in place, outside
// autograd. The arithmetic of an update runs in float64 whatever T is; the new parameter and
// state values are then rounded to T once. Parameters without a gradient are skipped: neither
// the parameter nor its state changes, and its own update count does not advance (PyTorch keeps
// a per-parameter step for the same reason: bias correction must count the updates a parameter
// actually received).
//
// Checkpoints: state() exports every running value as named tensors; a fresh optimizer built
// with the same options over parameters holding the same values continues bitwise identically
// after load_state(). Hyperparameters (learning rate, betas, ...) are not part of the state: they
// come from the options, and a schedule sets the learning rate from step_count().
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "attend/core/tensor.h"

namespace attend::train {

template <typename T>
using NamedTensors = std::vector<std::pair<std::string, Tensor<T>>>;

template <typename T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Updates every parameter that has a gradient, then advances step_count(). Throws ShapeError
  // (before changing anything) when a gradient's shape differs from its parameter's.
  virtual void step();
  // A step of which this process applies one part, the parameters [first, last) (data
  // parallelism: train/data_parallel.h, where each rank updates the parameters it owns and the
  // ranks then exchange them). has_gradient[i] says whether parameter i received a gradient this
  // step on whichever process owns it: its update count advances here too, so that every process
  // counts alike. The values and buffers of parameters outside [first, last) do not change; the
  // caller brings them from their owners. Parameters in the range must have a gradient exactly
  // when has_gradient says so (ValueError otherwise, before anything changes).
  void step_part(size_t first, size_t last, const std::vector<bool>& has_gradient);
  // Drops every parameter's gradient (it becomes undefined, as PyTorch's set_to_none).
  void zero_grad();

  double learning_rate() const { return learning_rate_; }
  // Finite and >= 0; ValueError otherwise.
  void set_learning_rate(double learning_rate);
  // Number of step() calls, including those before a load_state() checkpoint.
  int64_t step_count() const { return step_count_; }
  // "SGD", "Adam" or "AdamW", as used in error messages.
  const std::string& name() const { return name_; }
  const NamedTensors<T>& parameters() const { return parameters_; }

  // Copies of the running state, named
  //   "step"                          rank 0: step_count()
  //   "<prefix>.step.<parameter>"     rank 0: updates this parameter has received
  //   "<prefix>.<buffer>.<parameter>" the parameter's shape (e.g. "adam.m.fc.weight")
  // with <prefix> "sgd", "adam" or "adamw". Counts are stored exactly; a float tensor holds
  // integers up to 2^24, and state() throws ValueError past that (export with double).
  NamedTensors<T> state() const;
  // The per-parameter buffers (e.g. Adam's m and v): buffer_count() of them, and buffer b of
  // parameter i has the parameter's numel() elements, contiguous, at buffer(b, i).
  int buffer_count() const { return static_cast<int>(buffers_.size()); }
  T* buffer(int buffer_index, size_t parameter_index) const;

  // Replaces the running state with copies of `state`, which must hold exactly the names state()
  // returns (in any order): ValueError for a missing, unexpected or repeated name, or a count
  // that is not a non-negative integer; ShapeError for a wrong shape. Nothing changes on error.
  void load_state(const NamedTensors<T>& state);

 protected:
  // `name` for messages, `state_prefix` for state names. Validates the parameters: at least one;
  // names non-empty and distinct; each a defined, contiguous leaf, overlapping no other.
  Optimizer(std::string name, std::string state_prefix, NamedTensors<T> parameters, double learning_rate);

  // Declares a per-parameter buffer, zero-initialized, exported as "<prefix>.<buffer>.<name>".
  // Returns its index for buffer().
  int add_buffer(const std::string& buffer_name);

  // Applies one update to parameter `parameter_index`: `parameter` and `gradient` hold `numel`
  // contiguous elements. `update_count` counts this parameter's updates including this one
  // (1 on its first, whatever step_count() is).
  virtual void update_parameter(size_t parameter_index, T* parameter, const T* gradient, int64_t numel,
                                int64_t update_count) = 0;

 private:
  std::string name_;
  std::string state_prefix_;
  NamedTensors<T> parameters_;  // each contiguous, any shape
  double learning_rate_;
  int64_t step_count_ = 0;
  std::vector<int64_t> update_counts_;           // per parameter
  std::vector<std::string> buffer_names_;        // per buffer
  std::vector<std::vector<Tensor<T>>> buffers_;  // [buffer][parameter], the parameter's shape
};

// ---- SGD ----

// PyTorch's torch.optim.SGD defaults.
struct SgdOptions {
  double learning_rate = 1e-3;
  double momentum = 0.0;      // mu >= 0
  double dampening = 0.0;     // tau; 0 with nesterov
  double weight_decay = 0.0;  // lambda >= 0, an L2 term added to the gradient
  bool nesterov = false;      // needs momentum > 0 and dampening == 0
};

// Stochastic gradient descent with momentum, as torch.optim.SGD (Sutskever et al., "On the
// importance of initialization and momentum in deep learning", ICML 2013, for Nesterov's form):
//   g = grad + lambda p
//   v = g on a parameter's first update, else mu v + (1 - tau) g      (only when mu > 0)
//   p -= lr (g + mu v)   with nesterov,   p -= lr v   without,   p -= lr g   when mu == 0
// State: "sgd.momentum.<parameter>" (v) when mu > 0.
template <typename T>
class Sgd : public Optimizer<T> {
 public:
  Sgd(NamedTensors<T> parameters, const SgdOptions& options = {});
  const SgdOptions& options() const { return options_; }

 protected:
  void update_parameter(size_t parameter_index, T* parameter, const T* gradient, int64_t numel,
                        int64_t update_count) override;

 private:
  SgdOptions options_;
  int momentum_buffer_ = -1;  // index for buffer(); -1 without momentum
};

// ---- Adam and AdamW ----

// PyTorch's torch.optim.Adam defaults (AdamW changes only weight_decay, to 0.01).
struct AdamOptions {
  double learning_rate = 1e-3;
  double beta1 = 0.9;    // in [0, 1)
  double beta2 = 0.999;  // in [0, 1)
  double eps = 1e-8;     // >= 0, added outside the square root
  double weight_decay = 0.0;
  // Which parameters weight_decay applies to, by name; empty: all. The two parameter groups that
  // PyTorch users write as [{"params": decayed}, {"params": others, "weight_decay": 0}], e.g.
  // train::decays_unless_bias_or_norm for Transformers.
  std::function<bool(const std::string& parameter_name)> weight_decay_applies = nullptr;
};

// The usual rule for fine-tuning Transformers (BERT's own recipe): weight decay on weight
// matrices and embeddings, not on biases or normalization parameters. A name whose last part is
// "bias", or with a part that contains "norm" (any case: "norm", "LayerNorm", "attention_norm"),
// is not decayed.
bool decays_unless_bias_or_norm(const std::string& parameter_name);

struct AdamWOptions : AdamOptions {
  AdamWOptions() { weight_decay = 0.01; }
};

// Adam (Kingma & Ba, "Adam: a method for stochastic optimization", ICLR 2015), bias-corrected,
// as torch.optim.Adam. With t this parameter's update count:
//   g = grad + lambda p                      (Adam: weight decay as an L2 term)
//   m = beta1 m + (1 - beta1) g
//   v = beta2 v + (1 - beta2) g^2
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// State: "adam.m.<parameter>", "adam.v.<parameter>".
template <typename T>
class Adam : public Optimizer<T> {
 public:
  Adam(NamedTensors<T> parameters, const AdamOptions& options = {});
  const AdamOptions& options() const { return options_; }

 protected:
  // For AdamW: decoupled weight decay, other names.
  Adam(std::string name, std::string state_prefix, NamedTensors<T> parameters, const AdamOptions& options,
       bool decoupled_weight_decay);
  void update_parameter(size_t parameter_index, T* parameter, const T* gradient, int64_t numel,
                        int64_t update_count) override;

 private:
  AdamOptions options_;
  bool decoupled_weight_decay_;
  std::vector<bool> decayed_;  // per parameter: whether weight_decay applies (weight_decay_applies)
  int first_moment_ = -1;      // index for buffer(): m
  int second_moment_ = -1;     // index for buffer(): v
};

// AdamW (Loshchilov & Hutter, "Decoupled weight decay regularization", ICLR 2019), as
// torch.optim.AdamW: the decay shrinks the parameter before the Adam update and never enters
// the moments:
//   p *= 1 - lr lambda;   then the Adam update above with g = grad.
// State: "adamw.m.<parameter>", "adamw.v.<parameter>".
template <typename T>
class AdamW : public Adam<T> {
 public:
  AdamW(NamedTensors<T> parameters, const AdamWOptions& options = {});
};

// ---- gradient clipping ----

// The arithmetic of clip_grad_norm below, in parts, for callers that hold only some of the
// gradients (data parallelism: train/data_parallel.h). Each gradient is cut into chunks of
// kNormChunk elements; a chunk's sum of squares is added in element order in float64; the norm is
// the square root of the chunk sums added in parameter order, then chunk order. Computed this way
// the norm has the same bits on every run, thread count and process count.
inline constexpr int64_t kNormChunk = int64_t{1} << 14;
inline int64_t norm_chunk_count(int64_t numel) { return (numel + kNormChunk - 1) / kNormChunk; }
// The sum of squares of each chunk of `numel` contiguous elements: norm_chunk_count(numel) values.
template <typename T>
std::vector<double> norm_chunk_sums(const T* gradient, int64_t numel);
// The factor clip_grad_norm scales by: max_norm / (norm + 1e-6) when norm is finite and above
// max_norm, else 1 (nothing to scale).
double clip_scale(double norm, double max_norm);
// gradient[i] = T(double(gradient[i]) * scale): each element rounded once.
template <typename T>
void scale_gradient(T* gradient, int64_t numel, double scale);

// Clips gradients by their global L2 norm, as torch.nn.utils.clip_grad_norm_:
//   norm = sqrt(sum over parameters with a gradient, in order, of sum grad^2)   (in float64)
//   when norm > max_norm:  grad *= max_norm / (norm + 1e-6)   (in place, every gradient)
// Returns the norm before clipping. A non-finite norm (a NaN or infinite gradient) leaves every
// gradient unchanged and is returned as is, so the caller can skip the step; PyTorch would
// instead multiply the gradients by NaN. Unlike PyTorch, a norm in (max_norm - 1e-6, max_norm]
// is not scaled. max_norm > 0 (infinity allowed); ValueError otherwise. Parameters without a
// gradient are skipped; a gradient whose shape differs from its parameter's throws ShapeError.
template <typename T>
double clip_grad_norm(const NamedTensors<T>& parameters, double max_norm);
template <typename T>
double clip_grad_norm(const std::vector<Tensor<T>>& parameters, double max_norm);

extern template class Optimizer<float>;
extern template class Optimizer<double>;
extern template class Sgd<float>;
extern template class Sgd<double>;
extern template class Adam<float>;
extern template class Adam<double>;
extern template class AdamW<float>;
extern template class AdamW<double>;

}  // namespace attend::train
