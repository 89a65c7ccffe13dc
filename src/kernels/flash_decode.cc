// Fused attention for decoding: a few query rows against a long key/value cache. The work of one
// row is too small to split over query tiles, so the keys are split instead (split-K, as in
// FlashDecoding, Dao et al. 2023): each chunk of keys yields a partial state (m, l, O) for every
// row, and the chunks are merged in chunk order:
//
//   m = max_c m_c;  l = sum_c exp(m_c - m) l_c;  O = sum_c exp(m_c - m) O_c / l;  lse = m + log l
//
// A unit is (batch, key/value head, chunk) and covers every query head of the group, so a
// grouped-query cache is read once per group. The chunk size is fixed, so the result does not
// depend on the thread count. The roof is memory bandwidth: K and V are read once.
#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/core/tensor.h"
#include "kernels/attention_primitives.h"
#include "kernels/blas_kernels.h"
#include "kernels/flash_attention.h"
#include "kernels/flash_scores.h"

namespace attend::kernels {
namespace {

// Keys per chunk: 512 keys of K and V at D = 64 are 256 KB, streamed once.
constexpr int64_t kDecodeChunk = 512;
// Up to this many rows per unit, and for heads of at least kDirectMinHeadDim, S and O are
// computed key by key with vector dot products and multiply-adds, reading K and V straight
// from the cache; otherwise through BLAS. Measured (2 threads, N = 1, H = 8): at D = 128 the
// direct path took 0.94 / 5.55 ms at M = 4096 / 16384 against BLAS's 1.29 / 6.84; at D = 64 a
// key's dot product is too short to hide its horizontal sum, and BLAS won (2.75 against
// 2.97 ms at M = 16384).
constexpr int64_t kDirectRows = 4;
constexpr int64_t kDirectMinHeadDim = 128;

}  // namespace

bool use_decode_kernel(const FlashAttentionProblem& p) {
  return p.q_and_out_contiguous() && p.queries * (p.heads / p.kv_heads) <= kQueryBlock && p.keys >= 2 * kDecodeChunk;
}

namespace {

// The partial states of every unit, (units, rows) and (units, rows, D_v): m_c, l_c and the
// unnormalized O_c.
struct DecodePartials {
  int64_t group, rows, chunks;  // query heads per K/V head; rows of a unit (group x queries); key chunks
  Tensor<float> max, sum, out;  // (units, rows), (units, rows), (units, rows, D_v)
};

// S = Q K_c^T for the unit's rows (rows, D) against its cols keys (cols, D; rows k_row apart);
// s is (rows, chunk).
void chunk_scores(const FlashAttentionProblem& p, bool direct, const float* q, const float* k, int64_t k_row,
                  int64_t rows, int64_t cols, float* s) {
  if (!direct) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, p.head_dim, 1.0f, q, p.head_dim, k, k_row, 0.0f, s,
                kDecodeChunk);
    return;
  }
  for (int64_t c = 0; c < cols; ++c) {
    for (int64_t r = 0; r < rows; ++r) s[r * kDecodeChunk + c] = dot(q + r * p.head_dim, k + c * k_row, p.head_dim);
  }
}

// O_c = P V_c, (rows, D_v), from P (rows, chunk) and the chunk's values (cols, D_v; rows v_row apart).
void chunk_values(const FlashAttentionProblem& p, bool direct, const float* s, const float* v, int64_t v_row,
                  int64_t rows, int64_t cols, float* o) {
  if (!direct) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, p.value_dim, cols, 1.0f, s, kDecodeChunk, v, v_row,
                0.0f, o, p.value_dim);
    return;
  }
  std::fill_n(o, rows * p.value_dim, 0.0f);
  for (int64_t c = 0; c < cols; ++c) {
    for (int64_t r = 0; r < rows; ++r)
      add_scaled_row(o + r * p.value_dim, v + c * v_row, p.value_dim, s[r * kDecodeChunk + c]);
  }
}

// One unit (batch b, K/V head, chunk): m_c = rowmax(S), P = exp(S - m_c), l_c = rowsum(P),
// O_c = dropout(P) V_c. A row with no allowed key gets m_c = -inf, l_c = 0 (NaN if a score was).
void decode_unit(const FlashAttentionProblem& p, int64_t unit, bool features, DecodePartials& partials, float* s) {
  const int64_t group = partials.group, rows = partials.rows, chunks = partials.chunks;
  const int64_t chunk = unit % chunks, kv_head = unit / chunks % p.kv_heads, b = unit / chunks / p.kv_heads;
  const int64_t j0 = chunk * kDecodeChunk, cols = std::min(kDecodeChunk, p.keys - j0);
  const float* q = p.q + (b * p.heads + kv_head * group) * p.queries * p.head_dim;    // (rows, D)
  const auto k_layout = p.k_layout(), v_layout = p.v_layout();                        // (batch, head, row) strides
  const float* k = p.k + b * k_layout[0] + kv_head * k_layout[1] + j0 * k_layout[2];  // (cols, D)
  const float* v = p.v + b * v_layout[0] + kv_head * v_layout[1] + j0 * v_layout[2];  // (cols, D_v)
  float* m = partials.max.data() + unit * rows;
  float* l = partials.sum.data() + unit * rows;
  const bool direct = rows <= kDirectRows && p.head_dim >= kDirectMinHeadDim;
  chunk_scores(p, direct, q, k, k_layout[2], rows, cols, s);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t h = kv_head * group + r / p.queries, i = r % p.queries;
    float* sr = s + r * kDecodeChunk;
    m[r] = masked_row_max(p, features, b, h, i, j0, sr, cols, true);
    if (m[r] == kNegativeInfinity) {
      l[r] = has_nan(sr, cols) ? NAN : 0.0f;
      std::fill_n(sr, cols, 0.0f);
      continue;
    }
    l[r] = exp_masked_row(p, features, sr, cols, m[r]);
    if (p.dropout_p > 0) dropout_row(p, b, h, i, j0, sr, cols);
  }
  chunk_values(p, direct, s, v, v_layout[2], rows, cols, partials.out.data() + unit * rows * p.value_dim);
}

// Row r of (batch b, K/V head) from its chunks, in chunk order:
//   m = max_c m_c;  l = sum_c exp(m_c - m) l_c;  O = sum_c exp(m_c - m) O_c / l;  lse = m + log l
void merge_chunks(const FlashAttentionProblem& p, int64_t b, int64_t kv_head, int64_t r, const DecodePartials& partials,
                  float* out, float* log_sum_exp) {
  const int64_t rows = partials.rows, chunks = partials.chunks;
  const int64_t first_unit = (b * p.kv_heads + kv_head) * chunks;
  const float* partial_max = partials.max.data();
  const float* partial_sum = partials.sum.data();
  float m = kNegativeInfinity;
  bool nan = false;
  for (int64_t c = 0; c < chunks; ++c) {
    m = std::max(m, partial_max[(first_unit + c) * rows + r]);
    nan = nan || std::isnan(partial_sum[(first_unit + c) * rows + r]);
  }
  const int64_t h = kv_head * partials.group + r / p.queries, i = r % p.queries;
  float* out_row = out + ((b * p.heads + h) * p.queries + i) * p.value_dim;
  float* lse = log_sum_exp + (b * p.heads + h) * p.queries + i;
  std::fill_n(out_row, p.value_dim, 0.0f);
  if (m == kNegativeInfinity && !nan) {  // no key allowed anywhere
    *lse = kNegativeInfinity;
    return;
  }
  float l = nan ? NAN : 0.0f;
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t unit = first_unit + c;
    const float mc = partial_max[unit * rows + r];
    if (mc == kNegativeInfinity) continue;
    const float weight = std::exp(mc - m);
    l += weight * partial_sum[unit * rows + r];
    const float* oc = partials.out.data() + (unit * rows + r) * p.value_dim;
    for (int64_t d = 0; d < p.value_dim; ++d) out_row[d] += weight * oc[d];
  }
  scale_row(out_row, p.value_dim, 1.0f / l);
  *lse = m + std::log(l);
}

}  // namespace

void flash_attention_decode(const FlashAttentionProblem& p, float* out, float* log_sum_exp) {
  ATTEND_CHECK(p.q_and_out_contiguous(), ValueError, "flash_attention_decode: q and out must be contiguous");
  initialize_blas();  // on this thread, before the workers' first BLAS call
  DecodePartials partials;
  partials.group = p.heads / p.kv_heads;
  partials.rows = partials.group * p.queries;
  partials.chunks = (p.keys + kDecodeChunk - 1) / kDecodeChunk;
  const int64_t units = p.batch * p.kv_heads * partials.chunks;
  partials.max = Tensor<float>::empty({units, partials.rows});
  partials.sum = Tensor<float>::empty({units, partials.rows});
  partials.out = Tensor<float>::empty({units, partials.rows, p.value_dim});
  const bool features = p.has_elementwise_features() || !(p.scale > 0);
  parallel_for(units, 1, [&](int64_t begin, int64_t end) {
    Tensor<float> scores = Tensor<float>::empty({partials.rows, kDecodeChunk});  // (rows, chunk)
    for (int64_t unit = begin; unit < end; ++unit) decode_unit(p, unit, features, partials, scores.data());
  });
  const int64_t rows = partials.rows;
  parallel_for(p.batch * p.kv_heads * rows, 8, [&](int64_t begin, int64_t end) {
    for (int64_t index = begin; index < end; ++index) {
      merge_chunks(p, index / rows / p.kv_heads, index / rows % p.kv_heads, index % rows, partials, out, log_sum_exp);
    }
  });
}

}  // namespace attend::kernels
