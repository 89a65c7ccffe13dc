// Shapes, strides and the arithmetic on them (checked against overflow).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace attend {

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;

// "(2, 3, 4)"; "()" for a scalar.
std::string shape_string(const Shape& shape);

// Product of the sizes; throws ValueError on a negative size or on int64 overflow.
int64_t shape_numel(const Shape& shape);

// Row-major strides in elements for a contiguous tensor of `shape`.
Strides contiguous_strides(const Shape& shape);

// Maps a possibly negative axis into [0, rank); throws ValueError naming `op` when out of range.
int normalize_axis(int64_t axis, int64_t rank, const char* op);

// NumPy broadcasting of two shapes; throws ShapeError naming `op` when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// a * b, throwing ValueError on overflow (used wherever a size comes from outside).
int64_t checked_mul(int64_t a, int64_t b);
int64_t checked_add(int64_t a, int64_t b);

}  // namespace attend
