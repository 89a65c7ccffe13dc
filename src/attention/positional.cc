#include "attend/attention/positional.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/ops/indexing.h"
#include "attend/ops/matmul.h"

namespace attend {
namespace {

void check_base(double base, const char* op) {
  ATTEND_CHECK(std::isfinite(base) && base > 0, ValueError, "{}: base must be positive and finite, got {}", op, base);
}

// Offsets and distances beyond +-2^62 saturate there: far past any clipping distance or bucket
// range, and j - i - offset can no longer overflow for N, M < 2^61.
constexpr int64_t kFar = int64_t{1} << 62;
int64_t saturate(int64_t offset) { return std::clamp(offset, -kFar, kFar); }

// Product of every size but the last: the number of rows of length x.size(-1).
int64_t leading_rows(const Shape& shape) { return shape_numel(Shape(shape.begin(), shape.end() - 1)); }

// ---------------------------------------------------------------------------------------------
// Shaw et al. relative positions: the clipped distance rel(i, j) = clip(j - i - offset, -K, K) + K
// and the two lookups that move between per-distance (.., N, 2K + 1) and per-pair (.., N, M)
// layouts. Each is the other's adjoint, so each backward is the other forward.
// ---------------------------------------------------------------------------------------------

struct RelativeGrid {
  int64_t keys;          // M
  int64_t max_distance;  // K
  int64_t offset;        // query i sits at key position i + offset

  int64_t distances() const { return 2 * max_distance + 1; }
  int64_t index(int64_t query, int64_t key) const {
    return std::clamp(key - query - offset, -max_distance, max_distance) + max_distance;
  }
};

template <typename T>
Tensor<T> sum_by_relative_position(const Tensor<T>& per_pair, const RelativeGrid& grid);

// per_distance (..., N, 2K + 1) -> (..., N, M):  out[.., i, j] = per_distance[.., i, rel(i, j)].
template <typename T>
Tensor<T> gather_by_relative_position(const Tensor<T>& per_distance, const RelativeGrid& grid) {
  const Tensor<T> source = per_distance.detach().contiguous();  // (..., N, 2K + 1)
  const int64_t queries = source.size(-2), distances = grid.distances(), keys = grid.keys;
  const int64_t rows = leading_rows(source.shape());
  Shape out_shape = source.shape();
  out_shape.back() = keys;
  Tensor<T> out = Tensor<T>::empty(out_shape);  // (..., N, M)
  parallel_for(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(keys, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t i = r % queries;
      const T* from = source.data() + r * distances;
      T* to = out.data() + r * keys;
      for (int64_t j = 0; j < keys; ++j) to[j] = from[grid.index(i, j)];
    }
  });
  return record_op<T>("gather_by_relative_position", out, {per_distance}, [grid](const Tensor<T>& g) {
    // forward: out[.., i, j] = per_distance[.., i, rel(i, j)];  so d per_distance sums over j
    return std::vector<Tensor<T>>{sum_by_relative_position(g, grid)};
  });
}

// per_pair (..., N, M) -> (..., N, 2K + 1):  out[.., i, r] = sum_{j : rel(i, j) = r} per_pair[.., i, j],
// summed in increasing j (one thread per row: independent of the thread count).
template <typename T>
Tensor<T> sum_by_relative_position(const Tensor<T>& per_pair, const RelativeGrid& grid) {
  const Tensor<T> source = per_pair.detach().contiguous();  // (..., N, M)
  const int64_t queries = source.size(-2), distances = grid.distances(), keys = grid.keys;
  const int64_t rows = leading_rows(source.shape());
  Shape out_shape = source.shape();
  out_shape.back() = distances;
  Tensor<T> out = Tensor<T>::zeros(out_shape);  // (..., N, 2K + 1)
  parallel_for(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(keys, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t i = r % queries;
      const T* from = source.data() + r * keys;
      T* to = out.data() + r * distances;
      for (int64_t j = 0; j < keys; ++j) to[grid.index(i, j)] += from[j];
    }
  });
  return record_op<T>("sum_by_relative_position", out, {per_pair}, [grid](const Tensor<T>& g) {
    // forward: out[.., i, rel(i, j)] += per_pair[.., i, j];  so d per_pair[.., i, j] = g[.., i, rel(i, j)]
    return std::vector<Tensor<T>>{gather_by_relative_position(g, grid)};
  });
}

void check_relative_table(const Shape& table, int64_t max_distance, const char* op, const char* table_name) {
  const int64_t rows = shaw_table_rows(max_distance, op);
  ATTEND_CHECK(table.size() == 2 && table[0] == rows, ShapeError,
               "{}: {} must be (2 * max_distance + 1, D) = ({}, D) for max_distance = {}, got {}", op, table_name, rows,
               max_distance, shape_string(table));
}

// ---------------------------------------------------------------------------------------------
// Rotary embedding kernel (Su et al. 2021, eq. 34): for pair i of row n at position p = offset + n,
//   y_a = x_a cos(p theta_i) - x_b sin(p theta_i)
//   y_b = x_a sin(p theta_i) + x_b cos(p theta_i),      theta_i = base^(-2i / D)
// ---------------------------------------------------------------------------------------------

// cos and sin of p theta_i for n in [0, N), i in [0, D/2), as (N, D/2) tables in double: at
// positions ~1e5 a float angle has already lost three digits before the cos is taken.
struct RotaryTables {
  int64_t half;             // D / 2
  std::vector<double> cos;  // (N, D/2)
  std::vector<double> sin;  // (N, D/2)
};

RotaryTables rotary_tables(int64_t length, int64_t dim, int64_t offset, double base) {
  RotaryTables tables{dim / 2, {}, {}};
  tables.cos.resize(static_cast<size_t>(checked_mul(length, tables.half)));
  tables.sin.resize(tables.cos.size());
  for (int64_t i = 0; i < tables.half; ++i) {
    const double theta = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(dim));
    for (int64_t n = 0; n < length; ++n) {
      const double angle = (static_cast<double>(offset) + static_cast<double>(n)) * theta;
      tables.cos[n * tables.half + i] = std::cos(angle);
      tables.sin[n * tables.half + i] = std::sin(angle);
    }
  }
  return tables;
}

// x, y (rows, D) with row r at sequence index r % length; direction +1 rotates by +angle
// (forward), -1 by -angle (backward: the transpose of a rotation is its inverse).
template <typename T>
void rotate_rows(const T* x, T* y, int64_t rows, int64_t length, int64_t dim, const RotaryTables& tables,
                 RotaryStyle style, double direction) {
  const int64_t half = tables.half;
  parallel_for(rows, std::max<int64_t>(1, 2048 / std::max<int64_t>(dim, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const double* cos_row = tables.cos.data() + (r % length) * half;
      const double* sin_row = tables.sin.data() + (r % length) * half;
      const T* in = x + r * dim;
      T* out = y + r * dim;
      for (int64_t i = 0; i < half; ++i) {
        const int64_t first = style == RotaryStyle::kHalf ? i : 2 * i;
        const int64_t second = style == RotaryStyle::kHalf ? i + half : 2 * i + 1;
        const double a = in[first], b = in[second];
        const double c = cos_row[i], s = direction * sin_row[i];
        out[first] = static_cast<T>(a * c - b * s);
        out[second] = static_cast<T>(a * s + b * c);
      }
    }
  });
}

}  // namespace

// ---- sinusoidal ----

template <typename T>
Tensor<T> sinusoidal_positional_encoding(int64_t length, int64_t dim, double base) {
  ATTEND_CHECK(length >= 0 && dim > 0, ValueError,
               "sinusoidal_positional_encoding: need length >= 0 and dim > 0, got length = {}, dim = {}", length, dim);
  check_base(base, "sinusoidal_positional_encoding");
  // 1 / base^(2i / dim) for column pair i = c / 2.
  std::vector<double> inverse_frequency((dim + 1) / 2);
  for (size_t i = 0; i < inverse_frequency.size(); ++i) {
    inverse_frequency[i] = 1.0 / std::pow(base, 2.0 * static_cast<double>(i) / static_cast<double>(dim));
  }
  Tensor<T> table = Tensor<T>::empty({length, dim});  // (length, dim)
  parallel_for(length, std::max<int64_t>(1, 1024 / dim), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      for (int64_t c = 0; c < dim; ++c) {
        const double angle = static_cast<double>(p) * inverse_frequency[c / 2];
        table.data()[p * dim + c] = static_cast<T>(c % 2 == 0 ? std::sin(angle) : std::cos(angle));
      }
    }
  });
  return table;
}

// ---- learned ----

template <typename T>
Tensor<T> learned_positional_embedding(const Tensor<T>& weight, int64_t length, int64_t offset) {
  ATTEND_CHECK(weight.rank() == 2, ShapeError, "learned_positional_embedding: weight must be (max_length, dim), got {}",
               shape_string(weight.shape()));
  ATTEND_CHECK(length >= 0 && offset >= 0, ValueError,
               "learned_positional_embedding: length and offset must be >= 0, got length = {}, offset = {}", length,
               offset);
  const int64_t max_length = weight.size(0);
  ATTEND_CHECK(offset <= max_length && length <= max_length - offset, ValueError,
               "learned_positional_embedding: offset {} + length {} exceeds max_length = {} of weight {}", offset,
               length, max_length, shape_string(weight.shape()));
  return weight.slice(0, offset, offset + length);
}

// ---- Shaw et al. ----

int64_t shaw_table_rows(int64_t max_distance, const char* op) {
  ATTEND_CHECK(max_distance >= 0 && max_distance < kFar, ValueError, "{}: max_distance must be in [0, 2^62), got {}",
               op, max_distance);
  return 2 * max_distance + 1;
}

template <typename T>
Tensor<T> shaw_score_bias(const Tensor<T>& q, const Tensor<T>& key_table, int64_t keys, int64_t max_distance,
                          int64_t offset) {
  check_relative_table(key_table.shape(), max_distance, "shaw_score_bias", "key_table");
  ATTEND_CHECK(q.rank() >= 2 && q.size(-1) == key_table.size(1), ShapeError,
               "shaw_score_bias: q {} must be (..., N, D) with D = {} to match key_table {}", shape_string(q.shape()),
               key_table.size(1), shape_string(key_table.shape()));
  ATTEND_CHECK(keys >= 0, ValueError, "shaw_score_bias: keys must be >= 0, got {}", keys);
  // q (..., N, D) @ key_table^T (D, 2K + 1): one score per query and distance.
  const Tensor<T> per_distance = matmul(q, key_table.transpose(0, 1));  // (..., N, 2K + 1)
  return gather_by_relative_position(per_distance, RelativeGrid{keys, max_distance, saturate(offset)});
}

template <typename T>
Tensor<T> shaw_value_term(const Tensor<T>& weights, const Tensor<T>& value_table, int64_t max_distance,
                          int64_t offset) {
  check_relative_table(value_table.shape(), max_distance, "shaw_value_term", "value_table");
  ATTEND_CHECK(weights.rank() >= 2, ShapeError, "shaw_value_term: weights must be (..., N, M), got {}",
               shape_string(weights.shape()));
  // Weights that share a distance add up first: (..., N, 2K + 1) @ value_table (2K + 1, D_v).
  const Tensor<T> per_distance =
      sum_by_relative_position(weights, RelativeGrid{weights.size(-1), max_distance, saturate(offset)});
  return matmul(per_distance, value_table);
}

// ---- T5 ----

namespace {

// Buckets per sign and the exact-bucket count, after checking that the formula is defined.
std::pair<int64_t, int64_t> t5_bucket_layout(bool bidirectional, int64_t num_buckets, int64_t max_distance) {
  const int64_t per_side = bidirectional ? num_buckets / 2 : num_buckets;
  const int64_t max_exact = per_side / 2;
  ATTEND_CHECK(max_exact >= 1, ValueError, "t5_relative_bucket: num_buckets = {} is too small; need at least {} ({})",
               num_buckets, bidirectional ? 4 : 2, bidirectional ? "bidirectional" : "causal");
  ATTEND_CHECK(max_distance > max_exact, ValueError,
               "t5_relative_bucket: max_distance = {} must exceed the {} exact buckets of num_buckets = {}",
               max_distance, max_exact, num_buckets);
  return {per_side, max_exact};
}

}  // namespace

int64_t t5_relative_bucket(int64_t relative_position, bool bidirectional, int64_t num_buckets, int64_t max_distance) {
  const auto [per_side, max_exact] = t5_bucket_layout(bidirectional, num_buckets, max_distance);
  int64_t bucket = 0;
  int64_t distance = saturate(relative_position);
  if (bidirectional) {
    if (distance > 0) bucket += per_side;  // keys after the query
    distance = distance < 0 ? -distance : distance;
  } else {
    distance = std::max<int64_t>(-distance, 0);  // keys after the query share bucket 0
  }
  if (distance < max_exact) return bucket + distance;
  const double log_ratio = std::log(static_cast<double>(distance) / static_cast<double>(max_exact)) /
                           std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact));
  const double large =
      static_cast<double>(max_exact) + std::floor(log_ratio * static_cast<double>(per_side - max_exact));
  return bucket + static_cast<int64_t>(std::min(large, static_cast<double>(per_side - 1)));
}

template <typename T>
Tensor<T> t5_relative_bias(const Tensor<T>& bias_table, int64_t queries, int64_t keys, bool bidirectional,
                           int64_t max_distance, int64_t offset) {
  ATTEND_CHECK(bias_table.rank() == 2, ShapeError, "t5_relative_bias: bias_table must be (num_buckets, H), got {}",
               shape_string(bias_table.shape()));
  ATTEND_CHECK(queries >= 0 && keys >= 0, ValueError,
               "t5_relative_bias: need queries >= 0 and keys >= 0, got {} and {}", queries, keys);
  t5_bucket_layout(bidirectional, bias_table.size(0), max_distance);
  // The bucket of each distance d = j - i - offset in [-(N - 1) - offset, M - 1 - offset], once.
  const int64_t nearest = -(queries - 1) - saturate(offset);
  std::vector<int64_t> bucket_of_distance(std::max<int64_t>(queries + keys - 1, 0));
  for (size_t k = 0; k < bucket_of_distance.size(); ++k) {
    bucket_of_distance[k] =
        t5_relative_bucket(nearest + static_cast<int64_t>(k), bidirectional, bias_table.size(0), max_distance);
  }
  IndexTensor buckets = IndexTensor::empty({queries, keys});  // (N, M)
  for (int64_t i = 0; i < queries; ++i) {
    for (int64_t j = 0; j < keys; ++j) buckets.data()[i * keys + j] = bucket_of_distance[j - i + queries - 1];
  }
  // (N, M, H) -> (1, H, N, M)
  return embedding(bias_table, buckets).permute({2, 0, 1}).unsqueeze(0);
}

// ---- rotary ----

template <typename T>
Tensor<T> apply_rotary_embedding(const Tensor<T>& x, int64_t offset, double base, RotaryStyle style) {
  ATTEND_CHECK(x.rank() >= 2 && x.size(-1) % 2 == 0, ShapeError,
               "apply_rotary_embedding: x must be (..., N, D) with D even, got {}", shape_string(x.shape()));
  ATTEND_CHECK(offset >= 0, ValueError, "apply_rotary_embedding: offset must be >= 0, got {}", offset);
  check_base(base, "apply_rotary_embedding");
  const int64_t length = x.size(-2), dim = x.size(-1);
  const auto tables = std::make_shared<const RotaryTables>(rotary_tables(length, dim, offset, base));
  const Tensor<T> input = x.detach().contiguous();  // (..., N, D)
  const int64_t rows = leading_rows(input.shape());
  Tensor<T> out = Tensor<T>::empty(input.shape());  // (..., N, D)
  rotate_rows(input.data(), out.data(), rows, length, dim, *tables, style, +1.0);
  return record_op<T>("apply_rotary_embedding", out, {x}, [tables, rows, length, dim, style](const Tensor<T>& g) {
    // forward: (y_a, y_b) = R(p theta) (x_a, x_b);  so (dx_a, dx_b) = R(p theta)^T (dy_a, dy_b) = R(-p theta) dy
    const Tensor<T> dy = g.contiguous();
    Tensor<T> dx = Tensor<T>::empty(dy.shape());
    rotate_rows(dy.data(), dx.data(), rows, length, dim, *tables, style, -1.0);
    return std::vector<Tensor<T>>{dx};
  });
}

#define ATTEND_INSTANTIATE(T)                                                                        \
  template Tensor<T> sinusoidal_positional_encoding<T>(int64_t, int64_t, double);                    \
  template Tensor<T> learned_positional_embedding(const Tensor<T>&, int64_t, int64_t);               \
  template Tensor<T> shaw_score_bias(const Tensor<T>&, const Tensor<T>&, int64_t, int64_t, int64_t); \
  template Tensor<T> shaw_value_term(const Tensor<T>&, const Tensor<T>&, int64_t, int64_t);          \
  template Tensor<T> t5_relative_bias(const Tensor<T>&, int64_t, int64_t, bool, int64_t, int64_t);   \
  template Tensor<T> apply_rotary_embedding(const Tensor<T>&, int64_t, double, RotaryStyle);
ATTEND_INSTANTIATE(float)
ATTEND_INSTANTIATE(double)
#undef ATTEND_INSTANTIATE

}  // namespace attend
