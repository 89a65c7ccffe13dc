#include "attend/train/optimizer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <type_traits>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "kernels/adam_update.h"

namespace attend::train {
namespace {

// Elements per parallel_for chunk: an update is a few flops per element, so a chunk must be
// large for the threads to pay off. Every element is updated by one thread, independently of
// the others, so results do not depend on the thread count.
constexpr int64_t kUpdateGrain = 1 << 15;

bool is_finite_non_negative(double value) { return std::isfinite(value) && value >= 0; }

// Largest count a T holds exactly (2^24 for float, 2^53 for double).
template <typename T>
constexpr int64_t max_exact_count() {
  return int64_t{1} << std::numeric_limits<T>::digits;
}

// "'a', 'b', 'c', ... (12 parameters)", for messages that must stay readable on big models.
template <typename T>
std::string parameter_names_hint(const NamedTensors<T>& parameters) {
  constexpr size_t kShown = 4;
  std::string hint;
  for (size_t i = 0; i < parameters.size() && i < kShown; ++i) {
    hint += (i == 0 ? "'" : ", '") + parameters[i].first + "'";
  }
  if (parameters.size() > kShown) hint += fmt::format(", ... ({} parameters)", parameters.size());
  return hint;
}

}  // namespace

// ---- Optimizer ----

template <typename T>
Optimizer<T>::Optimizer(std::string name, std::string state_prefix, NamedTensors<T> parameters, double learning_rate)
    : name_(std::move(name)), state_prefix_(std::move(state_prefix)), parameters_(std::move(parameters)) {
  set_learning_rate(learning_rate);
  ATTEND_CHECK(!parameters_.empty(), ValueError, "{}: the parameter list is empty", name_);
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const auto& [parameter_name, parameter] = parameters_[i];
    ATTEND_CHECK(!parameter_name.empty(), ValueError, "{}: parameter {} has an empty name", name_, i);
    ATTEND_CHECK(parameter.defined(), ValueError, "{}: parameter '{}' is undefined", name_, parameter_name);
    ATTEND_CHECK(parameter.is_leaf(), ValueError,
                 "{}: parameter '{}' of shape {} is not a leaf (it is the result of an op); optimize "
                 "the leaf it was computed from",
                 name_, parameter_name, shape_string(parameter.shape()));
    ATTEND_CHECK(parameter.is_contiguous(), ValueError,
                 "{}: parameter '{}' of shape {} is not contiguous; pass the contiguous tensor it views", name_,
                 parameter_name, shape_string(parameter.shape()));
    for (size_t j = 0; j < i; ++j) {
      const auto& [other_name, other] = parameters_[j];
      ATTEND_CHECK(other_name != parameter_name, ValueError, "{}: parameter name '{}' appears twice", name_,
                   parameter_name);
      // Two contiguous views overlap when their element ranges in one buffer intersect; a tied
      // parameter listed twice would be updated twice per step.
      const bool overlap = parameter.numel() > 0 && other.numel() > 0 && parameter.shares_storage_with(other) &&
                           parameter.offset() < other.offset() + other.numel() &&
                           other.offset() < parameter.offset() + parameter.numel();
      ATTEND_CHECK(!overlap, ValueError,
                   "{}: parameters '{}' and '{}' share memory (tied weights?); pass each tensor once", name_,
                   other_name, parameter_name);
    }
  }
  update_counts_.assign(parameters_.size(), 0);
}

template <typename T>
void Optimizer<T>::set_learning_rate(double learning_rate) {
  ATTEND_CHECK(is_finite_non_negative(learning_rate), ValueError, "{}: learning_rate must be finite and >= 0, got {}",
               name_, learning_rate);
  learning_rate_ = learning_rate;
}

template <typename T>
int Optimizer<T>::add_buffer(const std::string& buffer_name) {
  buffer_names_.push_back(buffer_name);
  std::vector<Tensor<T>> per_parameter;
  for (const auto& [name, parameter] : parameters_) per_parameter.push_back(Tensor<T>::zeros(parameter.shape()));
  buffers_.push_back(std::move(per_parameter));
  return static_cast<int>(buffers_.size()) - 1;
}

template <typename T>
T* Optimizer<T>::buffer(int buffer_index, size_t parameter_index) const {
  return buffers_[buffer_index][parameter_index].data();
}

template <typename T>
void Optimizer<T>::step() {
  // Check every gradient first, so that a bad one leaves all parameters untouched.
  for (const auto& [name, parameter] : parameters_) {
    const Tensor<T> gradient = parameter.grad();
    ATTEND_CHECK(!gradient.defined() || gradient.shape() == parameter.shape(), ShapeError,
                 "{}::step: the gradient of '{}' has shape {} but the parameter has shape {}", name_, name,
                 shape_string(gradient.shape()), shape_string(parameter.shape()));
  }
  NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const Tensor<T>& parameter = parameters_[i].second;
    const Tensor<T> gradient = parameter.grad();
    if (!gradient.defined()) continue;
    const Tensor<T> dense_gradient = gradient.contiguous();
    ++update_counts_[i];
    if (parameter.numel() == 0) continue;
    update_parameter(i, parameter.data(), dense_gradient.data(), parameter.numel(), update_counts_[i]);
  }
  ++step_count_;
}

template <typename T>
void Optimizer<T>::step_part(size_t first, size_t last, const std::vector<bool>& has_gradient) {
  ATTEND_CHECK(first <= last && last <= parameters_.size() && has_gradient.size() == parameters_.size(), ValueError,
               "{}::step_part: parameters [{}, {}) and {} gradient flags for {} parameters", name_, first, last,
               has_gradient.size(), parameters_.size());
  for (size_t i = first; i < last; ++i) {
    const auto& [name, parameter] = parameters_[i];
    const Tensor<T> gradient = parameter.grad();
    ATTEND_CHECK(gradient.defined() == has_gradient[i], ValueError,
                 "{}::step_part: parameter '{}' {} but has_gradient says {}", name_, name,
                 gradient.defined() ? "has a gradient" : "has no gradient",
                 has_gradient[i] ? "it has one" : "it has none");
    ATTEND_CHECK(!gradient.defined() || gradient.shape() == parameter.shape(), ShapeError,
                 "{}::step_part: the gradient of '{}' has shape {} but the parameter has shape {}", name_, name,
                 shape_string(gradient.shape()), shape_string(parameter.shape()));
  }
  NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (!has_gradient[i]) continue;
    ++update_counts_[i];
    const Tensor<T>& parameter = parameters_[i].second;
    if (i < first || i >= last || parameter.numel() == 0) continue;
    const Tensor<T> dense_gradient = parameter.grad().contiguous();
    update_parameter(i, parameter.data(), dense_gradient.data(), parameter.numel(), update_counts_[i]);
  }
  ++step_count_;
}

template <typename T>
void Optimizer<T>::zero_grad() {
  for (auto& [name, parameter] : parameters_) parameter.zero_grad();
}

template <typename T>
NamedTensors<T> Optimizer<T>::state() const {
  auto count_tensor = [&](const std::string& state_name, int64_t count) {
    ATTEND_CHECK(count <= max_exact_count<T>(), ValueError,
                 "{}::state: '{}' = {} exceeds {}, the largest count this element type holds exactly; "
                 "use an optimizer over double parameters",
                 name_, state_name, count, max_exact_count<T>());
    return Tensor<T>::scalar(static_cast<T>(count));
  };
  NoGradGuard no_grad;
  NamedTensors<T> state;
  state.emplace_back("step", count_tensor("step", step_count_));
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const std::string& parameter_name = parameters_[i].first;
    const std::string count_name = state_prefix_ + ".step." + parameter_name;
    state.emplace_back(count_name, count_tensor(count_name, update_counts_[i]));
    for (size_t b = 0; b < buffers_.size(); ++b) {
      state.emplace_back(state_prefix_ + "." + buffer_names_[b] + "." + parameter_name, buffers_[b][i].clone());
    }
  }
  return state;
}

template <typename T>
void Optimizer<T>::load_state(const NamedTensors<T>& state) {
  std::map<std::string, Tensor<T>> given;
  for (const auto& [name, tensor] : state) {
    ATTEND_CHECK(tensor.defined(), ValueError, "{}::load_state: state '{}' is undefined", name_, name);
    ATTEND_CHECK(given.emplace(name, tensor).second, ValueError, "{}::load_state: state '{}' appears twice", name_,
                 name);
  }

  // What this optimizer expects under each name: a count (parameter index, or -1 for "step") or
  // buffer b of parameter i.
  struct Slot {
    int64_t parameter = -1;
    int buffer = -1;
  };
  std::map<std::string, Slot> expected;
  expected.emplace("step", Slot{});
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const std::string& parameter_name = parameters_[i].first;
    expected.emplace(state_prefix_ + ".step." + parameter_name, Slot{static_cast<int64_t>(i), -1});
    for (size_t b = 0; b < buffers_.size(); ++b) {
      expected.emplace(state_prefix_ + "." + buffer_names_[b] + "." + parameter_name,
                       Slot{static_cast<int64_t>(i), static_cast<int>(b)});
    }
  }
  std::string buffer_patterns;
  for (const std::string& buffer_name : buffer_names_) {
    buffer_patterns += ", '" + state_prefix_ + "." + buffer_name + ".<parameter>'";
  }
  for (const auto& [name, tensor] : given) {
    ATTEND_CHECK(expected.count(name) == 1, ValueError,
                 "{}::load_state: unexpected state '{}'; expected 'step', '{}.step.<parameter>'{} for parameters {}",
                 name_, name, state_prefix_, buffer_patterns, parameter_names_hint(parameters_));
  }

  // Validate everything before changing anything.
  int64_t step_count = 0;
  std::vector<int64_t> update_counts(parameters_.size(), 0);
  for (const auto& [name, slot] : expected) {
    const auto found = given.find(name);
    ATTEND_CHECK(found != given.end(), ValueError, "{}::load_state: missing state '{}' ({} entries given, {} expected)",
                 name_, name, given.size(), expected.size());
    const Tensor<T>& tensor = found->second;
    if (slot.buffer >= 0) {
      const auto& [parameter_name, parameter] = parameters_[slot.parameter];
      ATTEND_CHECK(tensor.shape() == parameter.shape(), ShapeError,
                   "{}::load_state: state '{}' has shape {} but parameter '{}' has shape {}", name_, name,
                   shape_string(tensor.shape()), parameter_name, shape_string(parameter.shape()));
      continue;
    }
    ATTEND_CHECK(tensor.rank() == 0, ShapeError, "{}::load_state: count '{}' must have shape (), got {}", name_, name,
                 shape_string(tensor.shape()));
    const double value = static_cast<double>(tensor.item());
    ATTEND_CHECK(std::isfinite(value) && value >= 0 && value == std::floor(value) &&
                     value <= static_cast<double>(max_exact_count<T>()),
                 ValueError, "{}::load_state: count '{}' must be an integer in [0, {}], got {}", name_, name,
                 max_exact_count<T>(), value);
    (slot.parameter < 0 ? step_count : update_counts[slot.parameter]) = static_cast<int64_t>(value);
  }
  for (size_t i = 0; i < parameters_.size(); ++i) {
    ATTEND_CHECK(update_counts[i] <= step_count, ValueError,
                 "{}::load_state: '{}.step.{}' = {} exceeds 'step' = {}: a parameter cannot receive more "
                 "updates than there were steps",
                 name_, state_prefix_, parameters_[i].first, update_counts[i], step_count);
  }

  NoGradGuard no_grad;
  step_count_ = step_count;
  update_counts_ = std::move(update_counts);
  for (const auto& [name, slot] : expected) {
    if (slot.buffer >= 0) buffers_[slot.buffer][slot.parameter].copy_from(given.at(name));
  }
}

// ---- SGD ----

template <typename T>
Sgd<T>::Sgd(NamedTensors<T> parameters, const SgdOptions& options)
    : Optimizer<T>("SGD", "sgd", std::move(parameters), options.learning_rate), options_(options) {
  ATTEND_CHECK(is_finite_non_negative(options.momentum), ValueError, "SGD: momentum must be finite and >= 0, got {}",
               options.momentum);
  ATTEND_CHECK(std::isfinite(options.dampening), ValueError, "SGD: dampening must be finite, got {}",
               options.dampening);
  ATTEND_CHECK(is_finite_non_negative(options.weight_decay), ValueError,
               "SGD: weight_decay must be finite and >= 0, got {}", options.weight_decay);
  ATTEND_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0), ValueError,
               "SGD: nesterov needs momentum > 0 and dampening == 0, got momentum {} and dampening {}",
               options.momentum, options.dampening);
  if (options.momentum != 0) momentum_buffer_ = this->add_buffer("momentum");
}

template <typename T>
void Sgd<T>::update_parameter(size_t parameter_index, T* parameter, const T* gradient, int64_t numel,
                              int64_t update_count) {
  const double learning_rate = this->learning_rate();
  const double momentum = options_.momentum;
  const double dampening = options_.dampening;
  const double weight_decay = options_.weight_decay;
  const bool nesterov = options_.nesterov;
  T* velocity = momentum_buffer_ >= 0 ? this->buffer(momentum_buffer_, parameter_index) : nullptr;
  parallel_for(numel, kUpdateGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      double p = parameter[i];
      double g = gradient[i];
      // PyTorch skips the term when lambda == 0, so an infinite p does not turn g into NaN.
      if (weight_decay != 0) g += weight_decay * p;
      double direction = g;
      if (velocity != nullptr) {
        // PyTorch starts the buffer at g itself, undamped.
        const double v = update_count == 1 ? g : momentum * velocity[i] + (1 - dampening) * g;
        velocity[i] = static_cast<T>(v);
        direction = nesterov ? g + momentum * v : v;
      }
      p -= learning_rate * direction;
      parameter[i] = static_cast<T>(p);
    }
  });
}

// ---- Adam and AdamW ----

template <typename T>
Adam<T>::Adam(NamedTensors<T> parameters, const AdamOptions& options)
    : Adam("Adam", "adam", std::move(parameters), options, false) {}

template <typename T>
Adam<T>::Adam(std::string name, std::string state_prefix, NamedTensors<T> parameters, const AdamOptions& options,
              bool decoupled_weight_decay)
    : Optimizer<T>(std::move(name), std::move(state_prefix), std::move(parameters), options.learning_rate),
      options_(options),
      decoupled_weight_decay_(decoupled_weight_decay) {
  const std::string& optimizer = this->name();
  ATTEND_CHECK(options.beta1 >= 0 && options.beta1 < 1, ValueError, "{}: beta1 must be in [0, 1), got {}", optimizer,
               options.beta1);
  ATTEND_CHECK(options.beta2 >= 0 && options.beta2 < 1, ValueError, "{}: beta2 must be in [0, 1), got {}", optimizer,
               options.beta2);
  ATTEND_CHECK(is_finite_non_negative(options.eps), ValueError, "{}: eps must be finite and >= 0, got {}", optimizer,
               options.eps);
  ATTEND_CHECK(is_finite_non_negative(options.weight_decay), ValueError,
               "{}: weight_decay must be finite and >= 0, got {}", optimizer, options.weight_decay);
  first_moment_ = this->add_buffer("m");
  second_moment_ = this->add_buffer("v");
  for (const auto& [parameter_name, parameter] : this->parameters()) {
    decayed_.push_back(!options.weight_decay_applies || options.weight_decay_applies(parameter_name));
  }
}

bool decays_unless_bias_or_norm(const std::string& parameter_name) {
  const size_t dot = parameter_name.rfind('.');
  const std::string last = dot == std::string::npos ? parameter_name : parameter_name.substr(dot + 1);
  if (last == "bias") return false;
  std::string lower = parameter_name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.find("norm") == std::string::npos;
}

template <typename T>
void Adam<T>::update_parameter(size_t parameter_index, T* parameter, const T* gradient, int64_t numel,
                               int64_t update_count) {
  const double learning_rate = this->learning_rate();
  const double beta1 = options_.beta1;
  const double beta2 = options_.beta2;
  const double eps = options_.eps;
  const double weight_decay = decayed_[parameter_index] ? options_.weight_decay : 0.0;
  const bool decoupled = decoupled_weight_decay_;
  // PyTorch's arrangement of the bias corrections: lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps),
  // which is Kingma & Ba's lr * m_hat / (sqrt(v_hat) + eps) with m_hat, v_hat never formed.
  const double t = static_cast<double>(update_count);
  const double step_size = learning_rate / (1 - std::pow(beta1, t));
  const double bias_correction2_sqrt = std::sqrt(1 - std::pow(beta2, t));
  T* first_moment = this->buffer(first_moment_, parameter_index);
  T* second_moment = this->buffer(second_moment_, parameter_index);
  if constexpr (std::is_same_v<T, float>) {
    // The same arithmetic as the double loop below, vectorized (kernels/adam_update.h).
    kernels::AdamConstants constants;
    constants.beta1 = beta1;
    constants.beta2 = beta2;
    constants.eps = eps;
    constants.step_size = step_size;
    constants.bias_correction2_sqrt = bias_correction2_sqrt;
    constants.weight_decay = weight_decay;
    constants.decay_factor = 1 - learning_rate * weight_decay;
    constants.decoupled = decoupled;
    parallel_for(numel, kUpdateGrain, [&](int64_t begin, int64_t end) {
      kernels::adam_update(constants, parameter + begin, gradient + begin, first_moment + begin, second_moment + begin,
                           end - begin);
    });
  } else {
    parallel_for(numel, kUpdateGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        double p = parameter[i];
        double g = gradient[i];
        if (weight_decay != 0) {
          if (decoupled) {
            p *= 1 - learning_rate * weight_decay;
          } else {
            g += weight_decay * p;
          }
        }
        const double m = beta1 * first_moment[i] + (1 - beta1) * g;
        const double v = beta2 * second_moment[i] + (1 - beta2) * g * g;
        first_moment[i] = static_cast<T>(m);
        second_moment[i] = static_cast<T>(v);
        p -= step_size * m / (std::sqrt(v) / bias_correction2_sqrt + eps);
        parameter[i] = static_cast<T>(p);
      }
    });
  }
}

template <typename T>
AdamW<T>::AdamW(NamedTensors<T> parameters, const AdamWOptions& options)
    : Adam<T>("AdamW", "adamw", std::move(parameters), options, true) {}

// ---- gradient clipping ----

namespace {

// sqrt(sum x^2) over every element, rescaled by the largest |x| so that squares cannot
// overflow: used only when the plain sum overflowed (double gradients beyond ~1e154).
template <typename T>
double overflow_safe_norm(const std::vector<Tensor<T>>& gradients) {
  double largest = 0;
  for (const Tensor<T>& gradient : gradients) {
    const T* x = gradient.data();
    for (int64_t i = 0; i < gradient.numel(); ++i) largest = std::max(largest, std::abs(static_cast<double>(x[i])));
  }
  if (!std::isfinite(largest) || largest == 0) return largest;
  double sum = 0;
  for (const Tensor<T>& gradient : gradients) {
    const T* x = gradient.data();
    for (int64_t i = 0; i < gradient.numel(); ++i) {
      const double scaled = static_cast<double>(x[i]) / largest;
      sum += scaled * scaled;
    }
  }
  return largest * std::sqrt(sum);
}

}  // namespace

template <typename T>
std::vector<double> norm_chunk_sums(const T* gradient, int64_t numel) {
  std::vector<double> sums(static_cast<size_t>(norm_chunk_count(numel)), 0.0);
  parallel_for(static_cast<int64_t>(sums.size()), 4, [&](int64_t first, int64_t last) {
    for (int64_t c = first; c < last; ++c) {
      const int64_t end = std::min(numel, (c + 1) * kNormChunk);
      double sum = 0;
      for (int64_t i = c * kNormChunk; i < end; ++i) sum += static_cast<double>(gradient[i]) * gradient[i];
      sums[static_cast<size_t>(c)] = sum;
    }
  });
  return sums;
}

double clip_scale(double norm, double max_norm) {
  return std::isfinite(norm) && norm > max_norm ? max_norm / (norm + 1e-6) : 1.0;
}

template <typename T>
void scale_gradient(T* gradient, int64_t numel, double scale) {
  parallel_for(numel, kUpdateGrain, [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) gradient[i] = static_cast<T>(static_cast<double>(gradient[i]) * scale);
  });
}

template <typename T>
double clip_grad_norm(const NamedTensors<T>& parameters, double max_norm) {
  ATTEND_CHECK(max_norm > 0, ValueError, "clip_grad_norm: max_norm must be > 0, got {}", max_norm);
  std::vector<Tensor<T>> gradients;  // as stored on the parameters
  std::vector<Tensor<T>> dense;      // contiguous: the same tensors, or copies of strided ones
  for (const auto& [name, parameter] : parameters) {
    ATTEND_CHECK(parameter.defined(), ValueError, "clip_grad_norm: parameter '{}' is undefined", name);
    const Tensor<T> gradient = parameter.grad();
    if (!gradient.defined()) continue;
    ATTEND_CHECK(gradient.shape() == parameter.shape(), ShapeError,
                 "clip_grad_norm: the gradient of '{}' has shape {} but the parameter has shape {}", name,
                 shape_string(gradient.shape()), shape_string(parameter.shape()));
    gradients.push_back(gradient);
    dense.push_back(gradient.contiguous());
  }

  // Fixed chunks of each gradient, each summed in order, then the chunk sums added in order: the
  // norm has the same bits on every run and thread count.
  double sum = 0;
  for (const Tensor<T>& gradient : dense) {
    for (const double part : norm_chunk_sums(gradient.data(), gradient.numel())) sum += part;
  }
  double norm = std::sqrt(sum);
  if (std::isinf(norm)) norm = overflow_safe_norm(dense);
  const double scale = clip_scale(norm, max_norm);
  if (scale == 1) return norm;
  NoGradGuard no_grad;
  for (Tensor<T>& gradient : dense) scale_gradient(gradient.data(), gradient.numel(), scale);
  for (size_t k = 0; k < dense.size(); ++k) {
    if (!gradients[k].is_contiguous()) gradients[k].copy_from(dense[k]);
  }
  return norm;
}

template <typename T>
double clip_grad_norm(const std::vector<Tensor<T>>& parameters, double max_norm) {
  NamedTensors<T> named;
  named.reserve(parameters.size());
  for (size_t i = 0; i < parameters.size(); ++i) named.emplace_back(fmt::format("parameter {}", i), parameters[i]);
  return clip_grad_norm(named, max_norm);
}

template class Optimizer<float>;
template class Optimizer<double>;
template class Sgd<float>;
template class Sgd<double>;
template class Adam<float>;
template class Adam<double>;
template class AdamW<float>;
template class AdamW<double>;
template std::vector<double> norm_chunk_sums(const float*, int64_t);
template std::vector<double> norm_chunk_sums(const double*, int64_t);
template void scale_gradient(float*, int64_t, double);
template void scale_gradient(double*, int64_t, double);
template double clip_grad_norm(const NamedTensors<float>&, double);
template double clip_grad_norm(const NamedTensors<double>&, double);
template double clip_grad_norm(const std::vector<Tensor<float>>&, double);
template double clip_grad_norm(const std::vector<Tensor<double>>&, double);

}  // namespace attend::train
