// Tensor: an n-dimensional view (shape, strides in elements, offset) onto a shared, 64-byte
// aligned buffer, plus the autograd state of that view. A Tensor is a cheap handle: copies share
// the same view and the same autograd state, as in PyTorch.
//
// Element types: float (speed), double (references and gradient checks), int64_t (indices) and
// uint8_t (boolean masks: nonzero is true); the integer types are never differentiable. One
// templated implementation serves all four.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <vector>

#include "attend/core/shape.h"

namespace attend {

class Generator;
template <typename T>
struct Node;
template <typename T>
struct TensorImpl;

// Owns `size` elements aligned to 64 bytes (a cache line, and the widest SIMD register), or
// borrows them from an owner outside attend (a NumPy array): then `owner` keeps them alive for as
// long as the buffer lives, and the buffer never frees them.
template <typename T>
class Buffer {
 public:
  explicit Buffer(int64_t size);
  Buffer(T* borrowed, int64_t size, std::shared_ptr<const void> owner);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  T* data() { return data_; }
  int64_t size() const { return size_; }

 private:
  T* data_ = nullptr;
  int64_t size_ = 0;
  std::shared_ptr<const void> owner_;  // set when the memory is borrowed
};

template <typename T>
class Tensor {
 public:
  using value_type = T;

  Tensor() = default;  // undefined: no storage; defined() is false

  // ---- construction ----
  static Tensor empty(const Shape& shape);  // uninitialized
  static Tensor zeros(const Shape& shape);
  static Tensor ones(const Shape& shape);
  static Tensor full(const Shape& shape, T value);
  static Tensor scalar(T value);  // rank 0
  // Copies `values` (row-major); throws ShapeError if the count does not match the shape.
  static Tensor from_vector(const Shape& shape, const std::vector<T>& values);
  // 0, 1, ..., n-1 as a (n) tensor.
  static Tensor arange(int64_t n);
  // Independent N(0, 1) and U[low, high) draws from `generator`, in row-major order.
  static Tensor randn(const Shape& shape, Generator& generator);
  static Tensor uniform(const Shape& shape, T low, T high, Generator& generator);
  // A contiguous row-major tensor over `size` = numel(shape) elements at `data`, which `owner`
  // keeps alive (no copy). `data` must be aligned to T (ValueError otherwise); the kernels read
  // tensor memory with unaligned loads, as they read views. attend's ops never write to their
  // inputs, so read-only memory may be borrowed.
  static Tensor borrow(T* data, const Shape& shape, std::shared_ptr<const void> owner);

  // ---- inspection ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  const Strides& strides() const;
  int64_t offset() const;
  int64_t rank() const { return static_cast<int64_t>(shape().size()); }
  int64_t numel() const;
  int64_t size(int64_t axis) const;  // negative axes count from the end
  bool is_contiguous() const;
  // Pointer to the first element of the view (buffer + offset).
  T* data() const;
  // The single value of a one-element tensor; ValueError otherwise.
  T item() const;
  // Element at a full multi-index, bounds-checked.
  T at(std::initializer_list<int64_t> index) const;
  // All elements in row-major order of the view.
  std::vector<T> to_vector() const;
  // True when both views share one buffer (used to test that views do not copy).
  bool shares_storage_with(const Tensor& other) const;

  // ---- copies ----
  // A contiguous copy (differentiable). contiguous() returns *this when already contiguous.
  Tensor clone() const;
  Tensor contiguous() const;
  // Element type conversion (not differentiable: the result is a new leaf).
  template <typename U>
  Tensor<U> cast() const;
  // Writes `source` (broadcast to this shape) into this view, outside autograd.
  void copy_from(const Tensor& source);
  void fill(T value);

  // ---- views (differentiable; no data is copied) ----
  Tensor reshape(const Shape& shape) const;  // copies only when the strides do not allow a view
  Tensor permute(const std::vector<int64_t>& axes) const;
  Tensor transpose(int64_t axis_a, int64_t axis_b) const;
  // Elements start, start+step, ... < end along `axis` (negative start/end count from the end).
  Tensor slice(int64_t axis, int64_t start, int64_t end, int64_t step = 1) const;
  // Broadcasts size-1 axes (and new leading axes) to `shape` with stride 0.
  Tensor expand(const Shape& shape) const;
  Tensor unsqueeze(int64_t axis) const;
  Tensor squeeze(int64_t axis) const;
  Tensor flatten() const { return reshape({numel()}); }

  // ---- autograd ----
  bool requires_grad() const;
  // Marks a leaf as a parameter whose gradient backward() accumulates. Returns *this.
  Tensor& set_requires_grad(bool requires_grad = true);
  bool is_leaf() const;
  // Accumulated gradient of a leaf (undefined before the first backward reaching it).
  Tensor grad() const;
  void zero_grad();
  // Same data, no history: the result is a leaf that does not require grad.
  Tensor detach() const;
  // Reverse-mode differentiation from this tensor. Without `gradient`, this must hold one
  // element and the seed is 1. The graph is freed afterwards unless `retain_graph`.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;
  std::shared_ptr<Node<T>> grad_fn() const;

  // ---- internals shared with ops and autograd ----
  static Tensor from_impl(std::shared_ptr<TensorImpl<T>> impl);
  const std::shared_ptr<TensorImpl<T>>& impl() const { return impl_; }
  // A view of the same buffer with another geometry; no autograd history.
  Tensor as_strided(const Shape& shape, const Strides& strides, int64_t offset) const;

 private:
  const TensorImpl<T>& checked_impl() const;
  std::shared_ptr<TensorImpl<T>> impl_;
};

template <typename T>
struct TensorImpl {
  std::shared_ptr<Buffer<T>> buffer;
  Shape shape;
  Strides strides;
  int64_t offset = 0;
  // Autograd state: a leaf has no grad_fn; requires_grad is true for leaves marked as
  // parameters and for every result of an op recorded on the tape.
  bool requires_grad = false;
  std::shared_ptr<Node<T>> grad_fn;
  Tensor<T> grad;
};

using Tensor32 = Tensor<float>;
using Tensor64 = Tensor<double>;
using IndexTensor = Tensor<int64_t>;
using MaskTensor = Tensor<uint8_t>;  // booleans: 0 false, anything else true

extern template class Tensor<float>;
extern template class Tensor<double>;
extern template class Tensor<int64_t>;
extern template class Tensor<uint8_t>;

}  // namespace attend
