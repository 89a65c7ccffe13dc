#include "attend/decoder/llama_model.h"

#include <cmath>
#include <algorithm>
#include <cstring>
#include <set>

#include "attend/core/autograd.h"
#include "attend/core/parallel.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/normalization.h"
#include "decoder/llama_weights.h"
#include "kernels/flash_attention.h"
#include "kernels/swiglu.h"

namespace attend::decoder {
namespace {

// One forward call's rows: segment s owns rows [first[s], first[s] + count[s]) of every
// (R, ...) activation; row r sits at position positions[r] of its sequence.
struct Rows {
  std::vector<int64_t> first, count, start;  // per segment; start = the cache's length before the call
  std::vector<int64_t> positions;            // (R)
  int64_t total = 0;
};

Rows plan_rows(std::span<const Segment> segments, int64_t vocabulary) {
  ATTEND_CHECK(!segments.empty(), ValueError, "LlamaModel::forward: no segments");
  Rows rows;
  std::set<const KvCache*> caches;
  for (size_t s = 0; s < segments.size(); ++s) {
    const Segment& segment = segments[s];
    ATTEND_CHECK(segment.cache != nullptr && caches.insert(segment.cache).second, ValueError,
                 "LlamaModel::forward: segment {} has no cache or shares one with another segment", s);
    const auto count = static_cast<int64_t>(segment.tokens.size());
    ATTEND_CHECK(count > 0, ValueError, "LlamaModel::forward: segment {} has no tokens", s);
    for (int32_t token : segment.tokens) {
      ATTEND_CHECK(token >= 0 && token < vocabulary, ValueError,
                   "LlamaModel::forward: token id {} is outside the vocabulary of {}", token, vocabulary);
    }
    segment.cache->reserve_more(count);
    rows.first.push_back(rows.total);
    rows.count.push_back(count);
    rows.start.push_back(segment.cache->length());
    for (int64_t t = 0; t < count; ++t) rows.positions.push_back(segment.cache->length() + t);
    rows.total += count;
  }
  return rows;
}

// x (R, E): the embedding rows of every segment's tokens (a quantized table widens each row).
Tensor<float> embed(const quant::WeightMatrix& table, std::span<const Segment> segments, const Rows& rows) {
  const int64_t width = table.cols();
  Tensor<float> x = Tensor<float>::empty({rows.total, width});
  int64_t r = 0;
  for (const Segment& segment : segments) {
    for (int32_t token : segment.tokens) {
      table.row(token, std::span<float>(x.data() + r++ * width, static_cast<size_t>(width)));
    }
  }
  return x;
}

// One head's pairs (2i, 2i + 1) rotated to position p, from `in` to `out`:
//   (a, b) -> (a cos - b sin, a sin + b cos),  cos = cos_table[p][i], sin = sin_table[p][i]
void rotate_head(const float* in, float* out, int64_t half, const float* cos_row, const float* sin_row) {
  for (int64_t i = 0; i < half; ++i) {
    const float a = in[2 * i], b = in[2 * i + 1];
    out[2 * i] = a * cos_row[i] - b * sin_row[i];
    out[2 * i + 1] = a * sin_row[i] + b * cos_row[i];
  }
}

// q (R, H D): the query columns of qkv (R, H D + 2 H_kv D), rotated to each row's position. The
// key columns, rotated, and the value columns go straight into each segment's cache of `layer`
// (H_kv, capacity, D) at the row's position: one pass, no intermediate k and v.
Tensor<float> queries_and_cache(const Tensor<float>& qkv, std::span<const Segment> segments, const Rows& rows,
                                int64_t layer, const LlamaConfig& config, const std::vector<float>& cos_table,
                                const std::vector<float>& sin_table) {
  const int64_t heads = config.heads, kv_heads = config.kv_heads, d = config.head_dim, half = d / 2;
  const int64_t q_width = heads * d, kv_width = kv_heads * d, stride = q_width + 2 * kv_width;
  Tensor<float> q = Tensor<float>::empty({rows.total, q_width});
  for (size_t s = 0; s < segments.size(); ++s) {
    KvCache& cache = *segments[s].cache;
    for (int64_t t = 0; t < rows.count[s]; ++t) {
      const int64_t r = rows.first[s] + t, position = rows.positions[r];
      const float* in = qkv.data() + r * stride;
      const float* cos_row = cos_table.data() + position * half;
      const float* sin_row = sin_table.data() + position * half;
      for (int64_t h = 0; h < heads; ++h)
        rotate_head(in + h * d, q.data() + r * q_width + h * d, half, cos_row, sin_row);
      for (int64_t h = 0; h < kv_heads; ++h) {
        const int64_t at = (h * cache.capacity() + position) * d;
        rotate_head(in + q_width + h * d, cache.keys(layer) + at, half, cos_row, sin_row);
        std::memcpy(cache.values(layer) + at, in + q_width + kv_width + h * d, static_cast<size_t>(d) * sizeof(float));
      }
    }
  }
  return q;
}

// silu(gate) * up (R, F) from gate_up (R, 2 F), row by row through the vectorized kernel
// (kernels/swiglu.h; element by element, so the same bits as ops' swiglu on copied columns).
Tensor<float> gated(const Tensor<float>& gate_up, int64_t ffn) {
  const int64_t count = gate_up.shape()[0];
  Tensor<float> out = Tensor<float>::empty({count, ffn});
  parallel_for(count, std::max<int64_t>(1, 16384 / ffn), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* row = gate_up.data() + r * 2 * ffn;
      kernels::swiglu_forward(row, row + ffn, ffn, out.data() + r * ffn);
    }
  });
  return out;
}

// The problem of one segment's queries over its cache, read in place (the fused kernel with
// strides: q and a as (n, H, D) rows, K and V as (H_kv, capacity, D)); query t sits at key
// position start + t.
kernels::FlashAttentionProblem cache_problem(const Tensor<float>& q, const KvCache& cache, int64_t n, int64_t first,
                                             int64_t start, int64_t layer, const LlamaConfig& config) {
  const int64_t heads = config.heads, head_dim = config.head_dim, width = heads * head_dim;
  kernels::FlashAttentionProblem p;
  p.batch = 1, p.heads = heads, p.kv_heads = config.kv_heads, p.queries = n;
  p.keys = start + n, p.head_dim = head_dim, p.value_dim = head_dim;
  p.q = q.data() + first * width;
  p.k = cache.keys(layer);
  p.v = cache.values(layer);
  p.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  p.causal = true;
  p.offset = start;
  // q and a as (n, H, D) rows.
  p.q_strides = p.out_strides = {n * width, head_dim, width};
  if (n == 1) {
    // One decode step: the G = H / H_kv query heads of a group are the G rows of their K/V head,
    // (H_kv, G, D), contiguous. Each row computes as before (the kernels treat rows alike and
    // tile the keys the same way), but a tile now has G rows where it had one: G independent
    // chains of multiply-adds where one chain waited on its own latency. Every key precedes the
    // query, so no mask is needed. Contiguous q also lets a long cache go to the split-K decode
    // kernel (kernels/flash_attention.h).
    const int64_t group = heads / config.kv_heads;
    p.heads = config.kv_heads, p.queries = group;
    p.causal = false, p.offset = 0;
    p.q_strides = p.out_strides = {width, group * head_dim, head_dim};
  }
  p.k_strides = p.v_strides = {config.kv_heads * cache.capacity() * head_dim, cache.capacity() * head_dim, head_dim};
  return p;
}

// a (R, H * D): causal grouped-query attention of each segment's queries over its cache. The
// segments (a server's step: prefills and decode steps together) go to one varlen forward, cut
// over (segment, head, query tile) by cost, so a long prefill shares the threads with the decode
// steps beside it; a decode step over a long cache goes to the split-K decode kernel instead
// (alone: split over the threads; among others: one segment a thread). The kernels give each
// segment the same bits whatever its neighbours and the thread count.
Tensor<float> attend_to_caches(const Tensor<float>& q, std::span<const Segment> segments, const Rows& rows,
                               int64_t layer, const LlamaConfig& config) {
  const int64_t width = config.heads * config.head_dim;
  Tensor<float> out = Tensor<float>::empty({rows.total, width});                   // (R, H D)
  std::vector<float> log_sum_exp(static_cast<size_t>(rows.total * config.heads));  // (H, n) a segment
  std::vector<kernels::FlashForwardCall> tiled, split;
  for (size_t s = 0; s < segments.size(); ++s) {
    const kernels::FlashForwardCall call{
        cache_problem(q, *segments[s].cache, rows.count[s], rows.first[s], rows.start[s], layer, config),
        out.data() + rows.first[s] * width, log_sum_exp.data() + rows.first[s] * config.heads};
    (kernels::use_decode_kernel(call.problem) ? split : tiled).push_back(call);
  }
  if (!tiled.empty()) kernels::flash_attention_forward(tiled);
  // One split segment runs here, its kernel splitting over the threads; several, one a thread.
  parallel_for(static_cast<int64_t>(split.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t s = begin; s < end; ++s) {
      kernels::flash_attention_decode(split[s].problem, split[s].out, split[s].log_sum_exp);
    }
  });
  return out;
}

// The attention weights of the one segment's queries, (H, n, keys), recomputed from q and the
// cache in double: P[h][i][j] = softmax_j(q_i . k_j * scale) over j <= start + i, 0 after.
Tensor<float> attention_weights(const Tensor<float>& q, const KvCache& cache, int64_t layer, const Rows& rows,
                                const LlamaConfig& config) {
  const int64_t heads = config.heads, head_dim = config.head_dim, n = rows.count[0], keys = rows.start[0] + n;
  const int64_t group = config.heads / config.kv_heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  Tensor<float> weights = Tensor<float>::zeros({heads, n, keys});
  std::vector<double> scores(static_cast<size_t>(keys));
  for (int64_t h = 0; h < heads; ++h) {
    const float* k = cache.keys(layer) + (h / group) * cache.capacity() * head_dim;
    for (int64_t i = 0; i < n; ++i) {
      const float* qi = q.data() + (i * heads + h) * head_dim;
      const int64_t allowed = rows.start[0] + i + 1;
      double max = -INFINITY, sum = 0;
      for (int64_t j = 0; j < allowed; ++j) {
        double dot = 0;
        for (int64_t d = 0; d < head_dim; ++d) dot += static_cast<double>(qi[d]) * k[j * head_dim + d];
        scores[j] = dot * scale;
        max = std::max(max, scores[j]);
      }
      for (int64_t j = 0; j < allowed; ++j) sum += (scores[j] = std::exp(scores[j] - max));
      float* row = weights.data() + (h * n + i) * keys;
      for (int64_t j = 0; j < allowed; ++j) row[j] = static_cast<float>(scores[j] / sum);
    }
  }
  return weights;
}

// Zeroes the ablated heads' columns of a (R, H D).
void ablate(Tensor<float>& a, const std::vector<int64_t>& heads, const LlamaConfig& config) {
  for (int64_t head : heads) {
    ATTEND_CHECK(head >= 0 && head < config.heads, ValueError, "ablation: head {} is outside [0, {})", head,
                 config.heads);
    for (int64_t r = 0; r < a.shape()[0]; ++r) {
      std::fill_n(a.data() + r * config.heads * config.head_dim + head * config.head_dim, config.head_dim, 0.0f);
    }
  }
}

// x (R, E) -> x + attention + feed-forward of one layer; hooks (one segment) capture or ablate.
Tensor<float> layer_forward(const Tensor<float>& x, const LlamaLayer& w, int64_t layer,
                            std::span<const Segment> segments, const Rows& rows, const LlamaConfig& config,
                            const std::vector<float>& cos_table, const std::vector<float>& sin_table,
                            ForwardHooks* hooks) {
  const Tensor<float> h = rms_norm(x, w.attn_norm, config.rms_eps);  // (R, E)
  const Tensor<float> qkv = w.qkv.project(h);                        // (R, H D + 2 H_kv D)
  const Tensor<float> q = queries_and_cache(qkv, segments, rows, layer, config, cos_table, sin_table);  // (R, H D)
  Tensor<float> a = attend_to_caches(q, segments, rows, layer, config);                                 // (R, H D)
  if (hooks != nullptr && hooks->capture_attention) {
    hooks->attention.push_back(attention_weights(q, *segments[0].cache, layer, rows, config));
  }
  if (hooks != nullptr && layer < static_cast<int64_t>(hooks->ablated_heads.size())) {
    ablate(a, hooks->ablated_heads[layer], config);
  }
  const Tensor<float> x1 = add(x, w.wo.project(a));                   // (R, E)
  const Tensor<float> h1 = rms_norm(x1, w.ffn_norm, config.rms_eps);  // (R, E)
  const Tensor<float> gate_up = w.gate_up.project(h1);                // (R, 2 F)
  const int64_t ffn = config.ffn_width;
  return add(x1, w.down.project(gated(gate_up, ffn)));  // (R, E), gated (R, F)
}

// The rows whose logits are wanted: each segment's last, or all.
Tensor<float> output_rows(const Tensor<float>& x, const Rows& rows, bool all_positions) {
  if (all_positions) return x;
  const int64_t width = x.shape()[1];
  Tensor<float> last = Tensor<float>::empty({static_cast<int64_t>(rows.first.size()), width});  // (S, E)
  for (size_t s = 0; s < rows.first.size(); ++s) {
    std::memcpy(last.data() + static_cast<int64_t>(s) * width, x.data() + (rows.first[s] + rows.count[s] - 1) * width,
                static_cast<size_t>(width) * sizeof(float));
  }
  return last;
}

// cos and sin of theta_i * p for p < context, i < D / 2, as transformers computes them in
// float32: theta_i = 1 / base^(float(2i) / D), angle = theta_i * float(p).
void rope_tables(const LlamaConfig& config, std::vector<float>& cos_table, std::vector<float>& sin_table) {
  const int64_t half = config.head_dim / 2;
  std::vector<float> theta(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(config.head_dim);
    theta[i] = 1.0f / std::pow(static_cast<float>(config.rope_base), exponent);
  }
  cos_table.resize(static_cast<size_t>(config.context_length * half));
  sin_table.resize(cos_table.size());
  for (int64_t p = 0; p < config.context_length; ++p) {
    for (int64_t i = 0; i < half; ++i) {
      const float angle = theta[i] * static_cast<float>(p);
      cos_table[p * half + i] = static_cast<float>(std::cos(static_cast<double>(angle)));
      sin_table[p * half + i] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
  }
}

}  // namespace

LlamaModel LlamaModel::load(const std::string& path, WeightPrecision precision) {
  LlamaModel model;
  model.file_ = std::make_shared<gguf::File>(gguf::File::open(path));
  model.config_ = read_llama_config(*model.file_);
  model.weights_ = load_llama_weights(*model.file_, model.config_, precision);
  rope_tables(model.config_, model.rope_cos_, model.rope_sin_);
  return model;
}

Tensor<float> LlamaModel::forward(std::span<const Segment> segments, bool all_positions) const {
  return run(segments, all_positions, nullptr);
}

Tensor<float> LlamaModel::forward(std::span<const int32_t> tokens, KvCache& cache, bool all_positions,
                                  ForwardHooks& hooks) const {
  const Segment segment{tokens, &cache};
  hooks.attention.clear();
  return run(std::span<const Segment>(&segment, 1), all_positions, &hooks);
}

Tensor<float> LlamaModel::run(std::span<const Segment> segments, bool all_positions, ForwardHooks* hooks) const {
  NoGradGuard no_grad;
  const Rows rows = plan_rows(segments, config_.vocabulary);
  Tensor<float> x = embed(weights_.token_embedding, segments, rows);  // (R, E)
  for (int64_t layer = 0; layer < config_.layers; ++layer) {
    x = layer_forward(x, weights_.layers[layer], layer, segments, rows, config_, rope_cos_, rope_sin_, hooks);
  }
  for (size_t s = 0; s < segments.size(); ++s) segments[s].cache->advance(rows.count[s]);
  const Tensor<float> h = rms_norm(output_rows(x, rows, all_positions), weights_.output_norm, config_.rms_eps);
  return weights_.output.project(h);  // (S or R, V)
}

Tensor<float> LlamaModel::forward(std::span<const int32_t> tokens, KvCache& cache, bool all_positions) const {
  const Segment segment{tokens, &cache};
  return forward(std::span<const Segment>(&segment, 1), all_positions);
}

}  // namespace attend::decoder
