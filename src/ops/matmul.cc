#include "attend/ops/matmul.h"

#include <cblas.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/ops/reduction.h"
#include "kernels/peak_loops.h"
#include "kernels/blas_kernels.h"

namespace attend {
namespace {

// How a (rows, cols) matrix view is handed to BLAS: its leading dimension and whether BLAS must
// read it transposed. Views with neither unit row nor unit column stride are copied first.
//
// A product goes to BLAS as a grid of output tiles, each one single-threaded BLAS call, threads
// coming from parallel_for. Two rules (tile_grid):
//
// - Where BLAS gives an element the same bits whatever the call's m and n (m, n >= 2), about one
//   tile per worker thread. BLIS packs both operands again at every call, so fewer, larger calls
//   run faster: one call did the old grid's products (below) 1.03-1.33x as fast (1.11x for
//   800 x 384 x 384). BLIS's AVX-512 kernels (skx) have the property: checked on this machine over
//   69 M elements of products cut into row and column tiles 2 to 300 wide, k from 7 to 4,096,
//   every transposition, and by tests/ops/matmul_test.cc. Then the bits depend neither on the grid,
//   nor on the thread count, nor on the other rows of the product (gemm_tile handles m or n of 1).
// - Otherwise, a grid fixed by the shapes alone, so that the thread count cannot change a bit:
//   tiles of at most kTileRows x kTileCols, smaller for small outputs with a long inner dimension
//   (weight gradients) until there are kMinTiles. BLIS's AVX2 kernels (haswell) lack the property:
//   they hand small products to other kernels, which sum in another order (16% of the elements
//   above differ), so there a row's bits can depend on the product's height.
// Rows are cut in equal parts, rounded up to a multiple of kTileRowMultiple (BLIS's skx
// micro-tile has 32 rows); columns in multiples of kTileColMultiple.
constexpr int64_t kTileRowMultiple = 32;
constexpr int64_t kTileColMultiple = 16;
constexpr int64_t kTileRows = 512;
constexpr int64_t kTileCols = 512;
constexpr int64_t kMinTiles = 4;
constexpr int64_t kMinTileRows = 32;
constexpr int64_t kMinTileCols = 64;
// Below this many flops a chunk is not worth waking a thread for.
constexpr int64_t kMinFlopsPerChunk = 1 << 20;

int64_t round_up(int64_t x, int64_t multiple) { return (x + multiple - 1) / multiple * multiple; }

struct TileGrid {
  int64_t tile_rows, tile_cols;
};

TileGrid tile_grid(int64_t batches, int64_t m, int64_t n) {
  if (kernels::blas_bits_independent_of_call_shape()) {
    // Whole products when they divide among the workers (or are many), else each product cut
    // along its longer side so that the tiles do.
    const int64_t workers = in_parallel_region() ? 1 : num_threads();
    const int64_t pieces = batches % workers == 0 || batches >= 4 * workers ? 1 : workers / std::gcd(batches, workers);
    if (m >= n) return {std::min(m, round_up((m + pieces - 1) / pieces, kTileRowMultiple)), n};
    return {m, std::min(n, round_up((n + pieces - 1) / pieces, kTileColMultiple))};
  }
  int64_t tile_rows = kTileRows, tile_cols = kTileCols;
  const auto tile_count = [&] {
    return batches * ((m + tile_rows - 1) / tile_rows) * ((n + tile_cols - 1) / tile_cols);
  };
  while (tile_count() < kMinTiles && (tile_rows > kMinTileRows || tile_cols > kMinTileCols)) {
    if (tile_cols > kMinTileCols && (tile_cols >= 2 * tile_rows || tile_rows <= kMinTileRows) && n > tile_cols / 2) {
      tile_cols /= 2;
    } else if (tile_rows > kMinTileRows && m > tile_rows / 2) {
      tile_rows /= 2;
    } else {
      break;
    }
  }
  const int64_t full_row_blocks = (m + tile_rows - 1) / tile_rows;
  return {std::min(tile_rows, round_up((m + full_row_blocks - 1) / full_row_blocks, kTileRowMultiple)), tile_cols};
}

struct BlasOperand {
  CBLAS_TRANSPOSE transpose;
  int64_t leading_dimension;
};

bool blas_compatible(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
  if (col_stride == 1 && row_stride >= std::max<int64_t>(cols, 1)) return true;
  if (row_stride == 1 && col_stride >= std::max<int64_t>(rows, 1)) return true;
  return rows * cols <= 1;
}

BlasOperand blas_operand(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
  if (col_stride == 1 && row_stride >= std::max<int64_t>(cols, 1)) return {CblasNoTrans, row_stride};
  if (row_stride == 1 && col_stride >= std::max<int64_t>(rows, 1)) return {CblasTrans, col_stride};
  // At most one element: any leading dimension works.
  return {CblasNoTrans, std::max<int64_t>(cols, 1)};
}

// c = a b (accumulate false) or c += a b (accumulate true).
void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
}

void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
          const double* b, int64_t ldb, double* c, int64_t ldc, bool accumulate) {
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, a, lda, b, ldb, accumulate ? 1.0 : 0.0, c, ldc);
}

// k values at stride `step`, written twice into `twice`: as two rows of k (returns the leading
// dimension k) or as k rows of two (returns 2), so that a padded operand keeps its layout.
template <typename T>
int64_t repeat_twice(const T* x, int64_t step, int64_t k, bool as_two_rows, std::vector<T>& twice) {
  twice.resize(2 * k);
  for (int64_t p = 0; p < k; ++p) {
    const T value = x[p * step];
    if (as_two_rows) {
      twice[p] = twice[k + p] = value;
    } else {
      twice[2 * p] = twice[2 * p + 1] = value;
    }
  }
  return as_two_rows ? k : 2;
}

// gemm for one tile, whose rows' bits must not depend on the tile's height. BLIS hands a product
// with one row or one column to gemv, which sums in another order than gemm's micro-kernel
// (measured with the skx kernels: a row alone differed in its last bits from the same row inside
// a larger product). Such a tile is computed with that row (or column) repeated, as a product of
// at least two rows and two columns, and the part asked for is copied out. The padded operand
// keeps its layout (BLIS's small-matrix kernels differ by layout), the other is passed as it is.
template <typename T>
void gemm_tile(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda,
               const T* b, int64_t ldb, T* c, int64_t ldc, bool accumulate) {
  if (m >= 2 && n >= 2) {
    gemm(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
    return;
  }
  const int64_t m2 = std::max<int64_t>(m, 2), n2 = std::max<int64_t>(n, 2);
  std::vector<T> a2, b2, c2(m2 * n2);  // a's one row and b's one column repeated; c2 (m2, n2)
  if (m == 1) {
    const bool rows = ta == CblasNoTrans;  // a is (1, k) row-major, or (k, 1) read transposed
    lda = repeat_twice(a, rows ? 1 : lda, k, rows, a2);
    a = a2.data();
  }
  if (n == 1) {
    const bool rows = tb == CblasTrans;  // b is (1, k) read transposed, or (k, 1) row-major
    ldb = repeat_twice(b, rows ? 1 : ldb, k, rows, b2);
    b = b2.data();
  }
  for (int64_t i = 0; i < m2 && accumulate; ++i) {
    for (int64_t j = 0; j < n2; ++j) c2[i * n2 + j] = c[std::min(i, m - 1) * ldc + std::min(j, n - 1)];
  }
  gemm(ta, tb, m2, n2, k, a, lda, b, ldb, c2.data(), n2, accumulate);
  for (int64_t i = 0; i < m; ++i) std::copy_n(c2.data() + i * n2, n, c + i * ldc);
}

// The operands of `batches` products c_i (m, n) = a_i (m, k) b_i (k, n) (+ bias, or += when
// accumulating): a_i at a + offset_a[i], b_i at b + offset_b[i], as BLAS reads them.
template <typename T>
struct ProductTiles {
  BlasOperand op_a, op_b;
  const T* a;
  const T* b;
  std::vector<int64_t> offset_a, offset_b;
  const T* bias;    // n values added to every row of c, or null
  bool accumulate;  // c += a b instead of c = a b (no bias then)
};

// c_i = out + i m ldc, rows ldc apart: a grid of (batch, row block, column block) tiles
// (tile_grid), each one single-threaded BLAS call.
template <typename T>
void run_tiles(const ProductTiles<T>& p, int64_t batches, int64_t m, int64_t n, int64_t k, T* out, int64_t ldc) {
  kernels::initialize_blas();  // on this thread, before the workers' first BLAS call
  // Named copies, not a structured binding: the lambda below captures them (clang 14, which
  // scripts/fuzz builds with, cannot capture structured bindings).
  const auto grid = tile_grid(batches, m, n);
  const int64_t tile_rows = grid.tile_rows, tile_cols = grid.tile_cols;
  const int64_t row_blocks = (m + tile_rows - 1) / tile_rows;
  const int64_t col_blocks = (n + tile_cols - 1) / tile_cols;
  const int64_t tiles = batches * row_blocks * col_blocks;
  const int64_t flops_per_tile = 2 * std::min(m, tile_rows) * std::min(n, tile_cols) * k;
  const int64_t grain = std::max<int64_t>(1, kMinFlopsPerChunk / std::max<int64_t>(flops_per_tile, 1));
  const int64_t a_row_step = p.op_a.transpose == CblasNoTrans ? p.op_a.leading_dimension : 1;
  const int64_t b_col_step = p.op_b.transpose == CblasNoTrans ? 1 : p.op_b.leading_dimension;
  parallel_for(tiles, grain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t i = t / (row_blocks * col_blocks);
      const int64_t row0 = (t / col_blocks % row_blocks) * tile_rows;
      const int64_t col0 = (t % col_blocks) * tile_cols;
      const int64_t rows = std::min(tile_rows, m - row0);
      const int64_t cols = std::min(tile_cols, n - col0);
      T* tile = out + i * m * ldc + row0 * ldc + col0;
      if (p.bias != nullptr) {
        for (int64_t r = 0; r < rows; ++r) std::copy_n(p.bias + col0, cols, tile + r * ldc);
      }
      gemm_tile(p.op_a.transpose, p.op_b.transpose, rows, cols, k, p.a + p.offset_a[i] + row0 * a_row_step,
                p.op_a.leading_dimension, p.b + p.offset_b[i] + col0 * b_col_step, p.op_b.leading_dimension, tile, ldc,
                p.bias != nullptr || p.accumulate);
    }
  });
}

// Makes the last two axes of x usable by BLAS, copying only when they are not.
template <typename T>
Tensor<T> blas_ready(const Tensor<T>& x) {
  const int64_t r = x.rank();
  const bool ok = blas_compatible(x.shape()[r - 2], x.shape()[r - 1], x.strides()[r - 2], x.strides()[r - 1]);
  return ok ? x : x.contiguous();
}

// a @ b over broadcast batch axes (linear_stacked writes its blocks through product_into).
template <typename T>
Tensor<T> matmul_forward(const Tensor<T>& a_in, const Tensor<T>& b_in) {
  const int64_t ra = a_in.rank();
  const int64_t rb = b_in.rank();
  const int64_t m = a_in.shape()[ra - 2];
  const int64_t k = a_in.shape()[ra - 1];
  const int64_t n = b_in.shape()[rb - 1];
  const Shape batch_a(a_in.shape().begin(), a_in.shape().end() - 2);
  const Shape batch_b(b_in.shape().begin(), b_in.shape().end() - 2);
  const Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  Shape a_shape = batch, b_shape = batch, out_shape = batch;
  a_shape.insert(a_shape.end(), {m, k});
  b_shape.insert(b_shape.end(), {k, n});
  out_shape.insert(out_shape.end(), {m, n});

  // Broadcast the batch axes (stride 0 where repeated), then flatten them in row-major order.
  const Tensor<T> a = blas_ready(a_in.detach()).expand(a_shape);
  const Tensor<T> b = blas_ready(b_in.detach()).expand(b_shape);
  Tensor<T> out = Tensor<T>::empty(out_shape);
  const int64_t batches = shape_numel(batch);
  if (out.numel() == 0) return out;
  if (k == 0) {
    out.fill(T(0));
    return out;
  }
  const int64_t rank = static_cast<int64_t>(out_shape.size());
  const BlasOperand op_a = blas_operand(m, k, a.strides()[rank - 2], a.strides()[rank - 1]);
  const BlasOperand op_b = blas_operand(k, n, b.strides()[rank - 2], b.strides()[rank - 1]);
  // Element offsets of each batch's a and b (broadcast axes have stride 0).
  std::vector<int64_t> offset_a(batches), offset_b(batches);
  std::vector<int64_t> index(batch.size(), 0);
  for (int64_t i = 0; i < batches; ++i) {
    for (size_t axis = 0; axis < batch.size(); ++axis) {
      offset_a[i] += index[axis] * a.strides()[axis];
      offset_b[i] += index[axis] * b.strides()[axis];
    }
    for (size_t axis = batch.size(); axis-- > 0;) {
      if (++index[axis] < batch[axis]) break;
      index[axis] = 0;
    }
  }
  ProductTiles<T> product{op_a, op_b, a.data(), b.data(), std::move(offset_a), std::move(offset_b), nullptr, false};
  run_tiles(product, batches, m, n, k, out.data(), n);
  return out;
}

// out (m, n), rows ldc apart: = a b + bias (bias n values, or null), or += a b when accumulating;
// a (m, k) and b (k, n) 2-D views of any BLAS-readable layout.
template <typename T>
void product_into(const Tensor<T>& a_in, const Tensor<T>& b_in, const T* bias, T* out, int64_t ldc, bool accumulate) {
  const int64_t m = a_in.size(0), k = a_in.size(1), n = b_in.size(1);
  if (m == 0 || n == 0) return;
  if (k == 0) {  // an empty sum
    for (int64_t r = 0; r < m && !accumulate; ++r) {
      if (bias != nullptr) {
        std::copy_n(bias, n, out + r * ldc);
      } else {
        std::fill_n(out + r * ldc, n, T(0));
      }
    }
    return;
  }
  const Tensor<T> a = blas_ready(a_in.detach()), b = blas_ready(b_in.detach());
  ProductTiles<T> product{blas_operand(m, k, a.strides()[0], a.strides()[1]),
                          blas_operand(k, n, b.strides()[0], b.strides()[1]),
                          a.data(),
                          b.data(),
                          {0},
                          {0},
                          bias,
                          accumulate};
  run_tiles(product, 1, m, n, k, out, ldc);
}

}  // namespace

void initialize_blas() { kernels::initialize_blas(); }

std::string blas_description() { return kernels::blas_description(); }
double float_peak_macs_per_second(int64_t iterations) { return kernels::float_peak_macs_per_second(iterations); }
double int8_peak_macs_per_second(int64_t iterations) { return kernels::int8_peak_macs_per_second(iterations); }

template <typename T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
  ATTEND_CHECK(a.rank() >= 2 && b.rank() >= 2, ShapeError, "matmul: both operands need rank >= 2, got {} and {}",
               shape_string(a.shape()), shape_string(b.shape()));
  ATTEND_CHECK(a.size(-1) == b.size(-2), ShapeError, "matmul: inner sizes differ: {} @ {} ({} != {})",
               shape_string(a.shape()), shape_string(b.shape()), a.size(-1), b.size(-2));
  Tensor<T> out = matmul_forward(a, b);
  return record_op<T>("matmul", out, {a, b}, [a, b](const Tensor<T>& g) {
    // forward: out = a @ b;  grad_a = g @ b^T,  grad_b = a^T @ g (summed over broadcast batches)
    Tensor<T> grad_a = a.requires_grad() ? sum_to(matmul_forward(g, b.transpose(-1, -2)), a.shape()) : Tensor<T>();
    Tensor<T> grad_b = b.requires_grad() ? sum_to(matmul_forward(a.transpose(-1, -2), g), b.shape()) : Tensor<T>();
    return std::vector<Tensor<T>>{grad_a, grad_b};
  });
}

template <typename T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias) {
  ATTEND_CHECK(weight.rank() == 2, ShapeError, "linear: weight must be (out, in), got {}",
               shape_string(weight.shape()));
  ATTEND_CHECK(x.rank() >= 1 && x.size(-1) == weight.size(1), ShapeError,
               "linear: input {} must end with in = {} (weight {})", shape_string(x.shape()), weight.size(1),
               shape_string(weight.shape()));
  ATTEND_CHECK(!bias.defined() || bias.shape() == Shape{weight.size(0)}, ShapeError,
               "linear: bias {} must be (out) = ({}) for weight {}", shape_string(bias.shape()), weight.size(0),
               shape_string(weight.shape()));
  // y = x @ weight^T + bias: the stack of one weight (its forward and backward below)
  return linear_stacked(x, {weight}, bias.defined() ? std::vector<Tensor<T>>{bias} : std::vector<Tensor<T>>{});
}

template <typename T>
Tensor<T> linear_stacked(const Tensor<T>& x, const std::vector<Tensor<T>>& weights,
                         const std::vector<Tensor<T>>& biases) {
  ATTEND_CHECK(!weights.empty(), ValueError, "linear_stacked: needs at least one weight");
  ATTEND_CHECK(biases.empty() || biases.size() == weights.size(), ValueError,
               "linear_stacked: {} biases for {} weights (give one per weight, or none)", biases.size(),
               weights.size());
  const int64_t in = weights[0].rank() == 2 ? weights[0].size(1) : -1;
  ATTEND_CHECK(x.rank() >= 1 && x.size(-1) == in, ShapeError,
               "linear_stacked: input {} must end with in = {} (weight 0 {})", shape_string(x.shape()), in,
               shape_string(weights[0].shape()));
  std::vector<int64_t> first_column = {0};  // block i is columns [first_column[i], first_column[i + 1])
  for (size_t i = 0; i < weights.size(); ++i) {
    ATTEND_CHECK(weights[i].rank() == 2 && weights[i].size(1) == in, ShapeError,
                 "linear_stacked: weight {} must be (out, {}), got {}", i, in, shape_string(weights[i].shape()));
    ATTEND_CHECK(biases.empty() || biases[i].shape() == Shape{weights[i].size(0)}, ShapeError,
                 "linear_stacked: bias {} {} must be (out) = ({}) for weight {}", i, shape_string(biases[i].shape()),
                 weights[i].size(0), shape_string(weights[i].shape()));
    first_column.push_back(first_column.back() + weights[i].size(0));
  }
  const int64_t total = first_column.back();
  Shape out_shape = x.shape();
  out_shape.back() = total;
  const int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  const Tensor<T> flat = x.reshape({rows, in});  // (R, in)
  // forward: y[:, block i] = flat W_i^T + b_i   (R, out_i) of y (R, total)
  Tensor<T> y = Tensor<T>::empty({rows, total});
  for (size_t i = 0; i < weights.size(); ++i) {
    const Tensor<T> bias_values = biases.empty() ? Tensor<T>() : biases[i].detach().contiguous();  // (out_i)
    product_into(flat, weights[i].detach().transpose(0, 1), biases.empty() ? nullptr : bias_values.data(),
                 y.data() + first_column[i], total, false);
  }
  std::vector<Tensor<T>> inputs = {flat};
  inputs.insert(inputs.end(), weights.begin(), weights.end());
  inputs.insert(inputs.end(), biases.begin(), biases.end());
  y = record_op<T>("linear_stacked", y, inputs, [flat, weights, biases, first_column](const Tensor<T>& g_in) {
    // forward: y[:, block i] = flat W_i^T + b_i, g_i = g[:, block i]
    //   d flat = sum_i g_i W_i (in block order);  d W_i = g_i^T flat;  d b_i = sum over rows of g_i
    const Tensor<T> g = g_in.contiguous();  // (R, total)
    const auto block = [&](size_t i) { return g.slice(1, first_column[i], first_column[i + 1]); };
    std::vector<Tensor<T>> grads = {Tensor<T>()};
    if (flat.requires_grad()) {
      grads[0] = Tensor<T>::empty(flat.shape());
      for (size_t i = 0; i < weights.size(); ++i) {
        product_into(block(i), weights[i], static_cast<const T*>(nullptr), grads[0].data(), flat.size(1), i > 0);
      }
    }
    for (size_t i = 0; i < weights.size(); ++i) {
      grads.push_back(weights[i].requires_grad() ? matmul_forward(block(i).transpose(0, 1), flat) : Tensor<T>());
    }
    for (size_t i = 0; i < biases.size(); ++i) {
      grads.push_back(biases[i].requires_grad() ? sum_to(block(i), biases[i].shape()) : Tensor<T>());
    }
    return grads;
  });
  return y.reshape(out_shape);
}

template Tensor<float> matmul(const Tensor<float>&, const Tensor<float>&);
template Tensor<double> matmul(const Tensor<double>&, const Tensor<double>&);
template Tensor<float> linear(const Tensor<float>&, const Tensor<float>&, const Tensor<float>&);
template Tensor<float> linear_stacked(const Tensor<float>&, const std::vector<Tensor<float>>&,
                                      const std::vector<Tensor<float>>&);
template Tensor<double> linear_stacked(const Tensor<double>&, const std::vector<Tensor<double>>&,
                                       const std::vector<Tensor<double>>&);
template Tensor<double> linear(const Tensor<double>&, const Tensor<double>&, const Tensor<double>&);

}  // namespace attend
