// Tensor storage, construction and inspection. Differentiable views live in ops/view_ops.cc.
#include "attend/core/tensor.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/memory.h"
#include "attend/core/random.h"
#include "core/strided_loop.h"

namespace attend {

constexpr size_t kAlignment = 64;

namespace {
std::atomic<int64_t> live_bytes{0};
std::atomic<int64_t> peak_bytes{0};

void count_allocation(int64_t bytes) {
  const int64_t now = live_bytes.fetch_add(bytes) + bytes;
  int64_t peak = peak_bytes.load();
  while (now > peak && !peak_bytes.compare_exchange_weak(peak, now)) {
  }
}
}  // namespace

MemoryStats memory_stats() { return {live_bytes.load(), peak_bytes.load()}; }
void reset_peak_memory() { peak_bytes.store(live_bytes.load()); }

template <typename T>
Buffer<T>::Buffer(int64_t size) : size_(size) {
  const size_t bytes = static_cast<size_t>(checked_mul(std::max<int64_t>(size, 1), sizeof(T)));
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  data_ = static_cast<T*>(std::aligned_alloc(kAlignment, rounded));
  if (data_ == nullptr) throw std::bad_alloc();
  count_allocation(static_cast<int64_t>(rounded));
}

template <typename T>
Buffer<T>::Buffer(T* borrowed, int64_t size, std::shared_ptr<const void> owner)
    : data_(borrowed), size_(size), owner_(std::move(owner)) {}

template <typename T>
Buffer<T>::~Buffer() {
  if (owner_ != nullptr) return;  // borrowed: the owner frees it
  std::free(data_);
  const size_t bytes = static_cast<size_t>(std::max<int64_t>(size_, 1)) * sizeof(T);
  count_allocation(-static_cast<int64_t>((bytes + kAlignment - 1) / kAlignment * kAlignment));
}

template <typename T>
Tensor<T> Tensor<T>::from_impl(std::shared_ptr<TensorImpl<T>> impl) {
  Tensor tensor;
  tensor.impl_ = std::move(impl);
  return tensor;
}

template <typename T>
Tensor<T> Tensor<T>::borrow(T* data, const Shape& shape, std::shared_ptr<const void> owner) {
  ATTEND_CHECK(reinterpret_cast<uintptr_t>(data) % alignof(T) == 0, ValueError,
               "Tensor::borrow: the memory of a {} tensor is not aligned to its {}-byte elements", shape_string(shape),
               sizeof(T));
  ATTEND_CHECK(owner != nullptr, ValueError, "Tensor::borrow: no owner keeps the memory alive");
  auto impl = std::make_shared<TensorImpl<T>>();
  impl->buffer = std::make_shared<Buffer<T>>(data, shape_numel(shape), std::move(owner));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  return from_impl(std::move(impl));
}

template <typename T>
Tensor<T> Tensor<T>::empty(const Shape& shape) {
  static const int64_t machine_bytes = physical_memory_bytes();
  const double bytes = static_cast<double>(shape_numel(shape)) * sizeof(T);
  ATTEND_CHECK(machine_bytes == 0 || bytes <= static_cast<double>(machine_bytes), ValueError,
               "a tensor of shape {} with {}-byte elements needs {:.1f} GiB, more than this machine's memory ({:.1f} "
               "GiB)",
               shape_string(shape), sizeof(T), bytes / (1 << 30), static_cast<double>(machine_bytes) / (1 << 30));
  auto impl = std::make_shared<TensorImpl<T>>();
  impl->buffer = std::make_shared<Buffer<T>>(shape_numel(shape));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  return from_impl(std::move(impl));
}

template <typename T>
Tensor<T> Tensor<T>::full(const Shape& shape, T value) {
  Tensor tensor = empty(shape);
  std::fill_n(tensor.data(), tensor.numel(), value);
  return tensor;
}

template <typename T>
Tensor<T> Tensor<T>::zeros(const Shape& shape) {
  return full(shape, T(0));
}

template <typename T>
Tensor<T> Tensor<T>::ones(const Shape& shape) {
  return full(shape, T(1));
}

template <typename T>
Tensor<T> Tensor<T>::scalar(T value) {
  return full({}, value);
}

template <typename T>
Tensor<T> Tensor<T>::from_vector(const Shape& shape, const std::vector<T>& values) {
  const int64_t n = shape_numel(shape);
  ATTEND_CHECK(static_cast<int64_t>(values.size()) == n, ShapeError,
               "from_vector: shape {} holds {} elements but {} values were given", shape_string(shape), n,
               values.size());
  Tensor tensor = empty(shape);
  std::copy(values.begin(), values.end(), tensor.data());
  return tensor;
}

template <typename T>
Tensor<T> Tensor<T>::arange(int64_t n) {
  ATTEND_CHECK(n >= 0, ValueError, "arange: n must be non-negative, got {}", n);
  Tensor tensor = empty({n});
  for (int64_t i = 0; i < n; ++i) tensor.data()[i] = static_cast<T>(i);
  return tensor;
}

template <typename T>
Tensor<T> Tensor<T>::randn(const Shape& shape, Generator& generator) {
  Tensor tensor = empty(shape);
  T* values = tensor.data();
  for (int64_t i = 0, n = tensor.numel(); i < n; ++i) values[i] = static_cast<T>(generator.normal());
  return tensor;
}

template <typename T>
Tensor<T> Tensor<T>::uniform(const Shape& shape, T low, T high, Generator& generator) {
  ATTEND_CHECK(low <= high, ValueError, "uniform: low ({}) must not exceed high ({})", low, high);
  Tensor tensor = empty(shape);
  const double width = static_cast<double>(high) - static_cast<double>(low);
  T* values = tensor.data();
  for (int64_t i = 0, n = tensor.numel(); i < n; ++i) {
    values[i] = static_cast<T>(static_cast<double>(low) + width * generator.uniform());
  }
  return tensor;
}

template <typename T>
const TensorImpl<T>& Tensor<T>::checked_impl() const {
  if (!impl_) fail("use of an undefined tensor (default-constructed, or a gradient not computed yet)");
  return *impl_;
}

template <typename T>
const Shape& Tensor<T>::shape() const {
  return checked_impl().shape;
}

template <typename T>
const Strides& Tensor<T>::strides() const {
  return checked_impl().strides;
}

template <typename T>
int64_t Tensor<T>::offset() const {
  return checked_impl().offset;
}

template <typename T>
int64_t Tensor<T>::numel() const {
  int64_t n = 1;
  for (int64_t size : shape()) n *= size;
  return n;
}

template <typename T>
int64_t Tensor<T>::size(int64_t axis) const {
  return shape()[normalize_axis(axis, rank(), "size")];
}

template <typename T>
bool Tensor<T>::is_contiguous() const {
  const auto& impl = checked_impl();
  // Matches contiguous_strides(): an axis of size 0 or 1 has any stride, and counts as size 1
  // for the axes before it.
  int64_t expected = 1;
  for (size_t i = impl.shape.size(); i-- > 0;) {
    if (impl.shape[i] > 1 && impl.strides[i] != expected) return false;
    expected *= std::max<int64_t>(impl.shape[i], 1);
  }
  return true;
}

template <typename T>
T* Tensor<T>::data() const {
  const auto& impl = checked_impl();
  return impl.buffer->data() + impl.offset;
}

template <typename T>
T Tensor<T>::item() const {
  ATTEND_CHECK(numel() == 1, ValueError, "item: tensor of shape {} has {} elements, not 1", shape_string(shape()),
               numel());
  return *data();
}

template <typename T>
T Tensor<T>::at(std::initializer_list<int64_t> index) const {
  ATTEND_CHECK(static_cast<int64_t>(index.size()) == rank(), ValueError,
               "at: {} indices given for a tensor of shape {}", index.size(), shape_string(shape()));
  int64_t offset = 0;
  int axis = 0;
  for (int64_t i : index) {
    ATTEND_CHECK(i >= 0 && i < shape()[axis], ValueError, "at: index {} is out of range for axis {} of shape {}", i,
                 axis, shape_string(shape()));
    offset += i * strides()[axis++];
  }
  return data()[offset];
}

template <typename T>
std::vector<T> Tensor<T>::to_vector() const {
  std::vector<T> values(static_cast<size_t>(numel()));
  Tensor source = contiguous();
  std::copy_n(source.data(), values.size(), values.data());
  return values;
}

template <typename T>
bool Tensor<T>::shares_storage_with(const Tensor& other) const {
  return checked_impl().buffer == other.checked_impl().buffer;
}

template <typename T>
void Tensor<T>::copy_from(const Tensor& source) {
  const Shape& target = shape();
  const Shape broadcast = broadcast_shapes(source.shape(), target, "copy_from");
  ATTEND_CHECK(broadcast == target, ShapeError, "copy_from: source of shape {} does not broadcast to {}",
               shape_string(source.shape()), shape_string(target));
  T* out = data();
  const T* in = source.data();
  if (source.shares_storage_with(*this)) {
    // Overlapping views: go through a private copy.
    copy_from(source.clone().detach());
    return;
  }
  detail::for_each_row<2>(
      target, {strides(), detail::broadcast_strides(source.shape(), source.strides(), target)},
      [&](const std::array<int64_t, 2>& offsets, const std::array<int64_t, 2>& steps, int64_t count) {
        T* o = out + offsets[0];
        const T* s = in + offsets[1];
        for (int64_t i = 0; i < count; ++i) o[i * steps[0]] = s[i * steps[1]];
      });
}

template <typename T>
void Tensor<T>::fill(T value) {
  T* out = data();
  detail::for_each_row<1>(
      shape(), {strides()},
      [&](const std::array<int64_t, 1>& offsets, const std::array<int64_t, 1>& steps, int64_t count) {
        for (int64_t i = 0; i < count; ++i) out[offsets[0] + i * steps[0]] = value;
      });
}

template <typename T>
template <typename U>
Tensor<U> Tensor<T>::cast() const {
  Tensor<U> out = Tensor<U>::empty(shape());
  Tensor source = contiguous();
  const T* in = source.data();
  U* o = out.data();
  const int64_t count = source.numel();
  for (int64_t i = 0; i < count; ++i) o[i] = static_cast<U>(in[i]);
  return out;
}

template <typename T>
Tensor<T> Tensor<T>::as_strided(const Shape& shape, const Strides& strides, int64_t offset) const {
  auto impl = std::make_shared<TensorImpl<T>>();
  impl->buffer = checked_impl().buffer;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  return from_impl(std::move(impl));
}

template <typename T>
bool Tensor<T>::requires_grad() const {
  return checked_impl().requires_grad;
}

template <typename T>
Tensor<T>& Tensor<T>::set_requires_grad(bool requires_grad) {
  if constexpr (std::is_integral_v<T>) {
    ATTEND_CHECK(!requires_grad, ValueError,
                 "set_requires_grad: integer (index) tensors of shape {} cannot require grad", shape_string(shape()));
  }
  ATTEND_CHECK(is_leaf(), AutogradError,
               "set_requires_grad: only leaf tensors can be marked; this one is the result of '{}'",
               impl_->grad_fn->name);
  impl_->requires_grad = requires_grad;
  return *this;
}

template <typename T>
bool Tensor<T>::is_leaf() const {
  return checked_impl().grad_fn == nullptr;
}

template <typename T>
Tensor<T> Tensor<T>::grad() const {
  return checked_impl().grad;
}

template <typename T>
void Tensor<T>::zero_grad() {
  checked_impl();
  impl_->grad = Tensor();
}

template <typename T>
Tensor<T> Tensor<T>::detach() const {
  const auto& impl = checked_impl();
  return as_strided(impl.shape, impl.strides, impl.offset);
}

template <typename T>
std::shared_ptr<Node<T>> Tensor<T>::grad_fn() const {
  return checked_impl().grad_fn;
}

template <typename T>
void Tensor<T>::backward(const Tensor& gradient, bool retain_graph) const {
  if constexpr (std::is_floating_point_v<T>) {
    run_backward(*this, gradient, retain_graph);
  } else {
    fail<AutogradError>("backward: integer tensors are not differentiable");
  }
}

template class Buffer<float>;
template class Buffer<double>;
template class Buffer<int64_t>;
template class Buffer<uint8_t>;
template class Tensor<float>;
template class Tensor<double>;
template class Tensor<int64_t>;
template class Tensor<uint8_t>;

#define ATTEND_INSTANTIATE_CAST(From, To) template Tensor<To> Tensor<From>::cast<To>() const;
ATTEND_INSTANTIATE_CAST(float, float)
ATTEND_INSTANTIATE_CAST(float, double)
ATTEND_INSTANTIATE_CAST(float, int64_t)
ATTEND_INSTANTIATE_CAST(float, uint8_t)
ATTEND_INSTANTIATE_CAST(double, float)
ATTEND_INSTANTIATE_CAST(double, double)
ATTEND_INSTANTIATE_CAST(double, int64_t)
ATTEND_INSTANTIATE_CAST(double, uint8_t)
ATTEND_INSTANTIATE_CAST(int64_t, float)
ATTEND_INSTANTIATE_CAST(int64_t, double)
ATTEND_INSTANTIATE_CAST(int64_t, int64_t)
ATTEND_INSTANTIATE_CAST(int64_t, uint8_t)
ATTEND_INSTANTIATE_CAST(uint8_t, float)
ATTEND_INSTANTIATE_CAST(uint8_t, double)
ATTEND_INSTANTIATE_CAST(uint8_t, int64_t)
ATTEND_INSTANTIATE_CAST(uint8_t, uint8_t)
#undef ATTEND_INSTANTIATE_CAST

}  // namespace attend
