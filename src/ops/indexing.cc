#include "attend/ops/indexing.h"

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "ops/rows.h"

namespace attend {
namespace {

// Validated, contiguous copy of an index tensor's values, each in [0, limit).
std::vector<int64_t> checked_indices(const IndexTensor& index, int64_t limit, const char* op) {
  std::vector<int64_t> values = index.to_vector();
  for (int64_t v : values) {
    ATTEND_CHECK(v >= 0 && v < limit, ValueError, "{}: index {} is out of range [0, {})", op, v, limit);
  }
  return values;
}

}  // namespace

template <typename T>
Tensor<T> embedding(const Tensor<T>& weight, const IndexTensor& indices) {
  ATTEND_CHECK(weight.rank() == 2, ShapeError, "embedding: weight must be (V, D), got {}",
               shape_string(weight.shape()));
  const int64_t vocab = weight.size(0);
  const int64_t dim = weight.size(1);
  const std::vector<int64_t> ids = checked_indices(indices, vocab, "embedding");
  Shape out_shape = indices.shape();
  out_shape.push_back(dim);
  const Tensor<T> table = weight.detach().contiguous();  // (V, D)
  Tensor<T> out = Tensor<T>::empty(out_shape);           // (*indices, D)
  const int64_t count = static_cast<int64_t>(ids.size());
  parallel_for(count, std::max<int64_t>(1, 4096 / std::max<int64_t>(dim, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) std::copy_n(table.data() + ids[i] * dim, dim, out.data() + i * dim);
  });
  return record_op<T>("embedding", out, {weight}, [ids, vocab, dim](const Tensor<T>& g) {
    // forward: out[i, :] = weight[ids[i], :];  rows of repeated ids add up, in index order
    const Tensor<T> dy = g.contiguous();
    Tensor<T> dw = Tensor<T>::zeros({vocab, dim});
    parallel_for(dim, 16, [&](int64_t begin, int64_t end) {
      for (size_t i = 0; i < ids.size(); ++i) {
        for (int64_t c = begin; c < end; ++c) dw.data()[ids[i] * dim + c] += dy.data()[i * dim + c];
      }
    });
    return std::vector<Tensor<T>>{dw};
  });
}

template <typename T>
Tensor<T> index_select(const Tensor<T>& x, int64_t axis_in, const IndexTensor& index) {
  const int axis = normalize_axis(axis_in, x.rank(), "index_select");
  ATTEND_CHECK(index.rank() == 1, ShapeError, "index_select: index must be 1-D, got {}", shape_string(index.shape()));
  const std::vector<int64_t> ids = checked_indices(index, x.size(axis), "index_select");
  // Move the axis first so each selected entry is one contiguous block.
  const Tensor<T> moved = x.detach().transpose(0, axis).contiguous();  // (n, rest...)
  const int64_t block = moved.size(0) == 0 ? 0 : moved.numel() / moved.size(0);
  Shape moved_out = moved.shape();
  moved_out[0] = static_cast<int64_t>(ids.size());
  Tensor<T> gathered = Tensor<T>::empty(moved_out);
  for (size_t j = 0; j < ids.size(); ++j)
    std::copy_n(moved.data() + ids[j] * block, block, gathered.data() + j * block);
  Tensor<T> out = gathered.transpose(0, axis).contiguous();
  return record_op<T>("index_select", out, {x}, [ids, axis, moved_shape = moved.shape(), block](const Tensor<T>& g) {
    // forward: out[.., j, ..] = x[.., ids[j], ..];  repeated ids add up in order
    const Tensor<T> dy = g.transpose(0, axis).contiguous();
    Tensor<T> dx = Tensor<T>::zeros(moved_shape);
    for (size_t j = 0; j < ids.size(); ++j) {
      T* target = dx.data() + ids[j] * block;
      const T* source = dy.data() + j * block;
      for (int64_t i = 0; i < block; ++i) target[i] += source[i];
    }
    return std::vector<Tensor<T>>{dx.transpose(0, axis).contiguous()};
  });
}

template <typename T>
Tensor<T> gather(const Tensor<T>& x, int64_t axis_in, const IndexTensor& index) {
  const int axis = normalize_axis(axis_in, x.rank(), "gather");
  ATTEND_CHECK(index.rank() == x.rank(), ShapeError, "gather: index {} must have the rank of input {}",
               shape_string(index.shape()), shape_string(x.shape()));
  for (int64_t a = 0; a < x.rank(); ++a) {
    ATTEND_CHECK(a == axis || index.size(a) <= x.size(a), ShapeError,
                 "gather: index {} is larger than input {} on axis {}", shape_string(index.shape()),
                 shape_string(x.shape()), a);
  }
  const std::vector<int64_t> ids = checked_indices(index, x.size(axis), "gather");
  // Rows along `axis`: x_rows (outer..., n), index rows (outer..., k) with outer taken from index.
  const Tensor<T> x_rows = detail::rows_along(x, axis);
  const IndexTensor index_rows = index.transpose(axis, -1).contiguous();
  const std::vector<int64_t> row_ids = index_rows.to_vector();
  const Shape& outer = index_rows.shape();
  const int64_t n = x_rows.size(-1);
  const int64_t k = outer.back();
  // Offset of each index row's matching input row (the outer sizes may be smaller than x's).
  const int64_t rows = k == 0 ? 0 : index_rows.numel() / k;
  std::vector<int64_t> x_row_offset(rows);
  for (int64_t r = 0; r < rows; ++r) {
    int64_t remaining = r, offset = 0, stride = n;
    for (int64_t a = static_cast<int64_t>(outer.size()) - 2; a >= 0; --a) {
      offset += (remaining % outer[a]) * stride;
      remaining /= outer[a];
      stride *= x_rows.size(a);
    }
    x_row_offset[r] = offset;
  }
  Tensor<T> out_rows = Tensor<T>::empty(outer);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < k; ++j) out_rows.data()[r * k + j] = x_rows.data()[x_row_offset[r] + row_ids[r * k + j]];
  }
  Tensor<T> out = detail::from_rows(out_rows, axis);
  return record_op<T>("gather", out, {x}, [=, x_rows_shape = x_rows.shape()](const Tensor<T>& g) {
    // forward: out_rows[r, j] = x_rows[row r, row_ids[r, j]];  repeated ids add up in order
    const Tensor<T> dy = detail::rows_along(g, axis);
    Tensor<T> dx_rows = Tensor<T>::zeros(x_rows_shape);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < k; ++j) dx_rows.data()[x_row_offset[r] + row_ids[r * k + j]] += dy.data()[r * k + j];
    }
    return std::vector<Tensor<T>>{detail::from_rows(dx_rows, axis)};
  });
}

#define ATTEND_INSTANTIATE(T)                                                     \
  template Tensor<T> embedding(const Tensor<T>&, const IndexTensor&);             \
  template Tensor<T> index_select(const Tensor<T>&, int64_t, const IndexTensor&); \
  template Tensor<T> gather(const Tensor<T>&, int64_t, const IndexTensor&);
ATTEND_INSTANTIATE(float)
ATTEND_INSTANTIATE(double)
#undef ATTEND_INSTANTIATE

}  // namespace attend
