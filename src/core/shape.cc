#include "attend/core/shape.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "attend/core/error.h"

namespace attend {

std::string shape_string(const Shape& shape) { return fmt::format("({})", fmt::join(shape, ", ")); }

int64_t checked_mul(int64_t a, int64_t b) {
  int64_t result = 0;
  if (__builtin_mul_overflow(a, b, &result)) fail("size overflow: {} * {} does not fit in int64", a, b);
  return result;
}

int64_t checked_add(int64_t a, int64_t b) {
  int64_t result = 0;
  if (__builtin_add_overflow(a, b, &result)) fail("size overflow: {} + {} does not fit in int64", a, b);
  return result;
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t size : shape) {
    ATTEND_CHECK(size >= 0, ValueError, "shape {} has a negative size", shape_string(shape));
    n = checked_mul(n, size);
  }
  return n;
}

Strides contiguous_strides(const Shape& shape) {
  Strides strides(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride = checked_mul(stride, std::max<int64_t>(shape[i], 1));
  }
  return strides;
}

int normalize_axis(int64_t axis, int64_t rank, const char* op) {
  const int64_t normalized = axis < 0 ? axis + rank : axis;
  ATTEND_CHECK(normalized >= 0 && normalized < rank, ValueError, "{}: axis {} is out of range for a tensor of rank {}",
               op, axis, rank);
  return static_cast<int>(normalized);
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t size_a = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t size_b = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    ATTEND_CHECK(size_a == size_b || size_a == 1 || size_b == 1, ShapeError,
                 "{}: shapes {} and {} cannot be broadcast together", op, shape_string(a), shape_string(b));
    out[i] = size_a == 1 ? size_b : size_a;
  }
  return out;
}

}  // namespace attend
