// Scaled dot-product attention (the math is in the header): the reference path, composed from
// differentiable ops so that its gradient is the chain of theirs; the fused float32 path on the
// kernels of src/kernels with its recomputing backward; and the choice between the two.
#include "attend/attention/scaled_dot_product.h"

#include <cmath>
#include <limits>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/log.h"
#include "attend/ops/reduction.h"
#include "kernels/flash_attention.h"
#include "attend/ops/dropout.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/masking.h"
#include "attend/ops/matmul.h"
#include "attend/ops/softmax.h"

namespace attend {
namespace {

struct AttentionShape {
  int64_t batch, heads, kv_heads, queries, keys, head_dim, value_dim;
  Shape scores() const { return {batch, heads, queries, keys}; }
};

// `shape` broadcasts to `target` without enlarging it.
bool broadcasts_to(const Shape& shape, const Shape& target) {
  if (shape.size() > target.size()) return false;
  const size_t lead = target.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] != 1 && shape[i] != target[lead + i]) return false;
  }
  return true;
}

template <typename T>
AttentionShape validate(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v, const AttentionOptions<T>& o) {
  const char* op = "scaled_dot_product_attention";
  ATTEND_CHECK(q.rank() == 4 && k.rank() == 4 && v.rank() == 4, ShapeError,
               "{}: q, k, v must be (B, H, N, D), (B, H_kv, M, D), (B, H_kv, M, D_v); got {}, {}, {}", op,
               shape_string(q.shape()), shape_string(k.shape()), shape_string(v.shape()));
  AttentionShape s{q.size(0), q.size(1), k.size(1), q.size(2), k.size(2), q.size(3), v.size(3)};
  ATTEND_CHECK(k.size(0) == s.batch && v.size(0) == s.batch, ShapeError, "{}: batch sizes differ: q {}, k {}, v {}", op,
               shape_string(q.shape()), shape_string(k.shape()), shape_string(v.shape()));
  ATTEND_CHECK(k.size(3) == s.head_dim, ShapeError, "{}: q {} and k {} differ in head dimension D", op,
               shape_string(q.shape()), shape_string(k.shape()));
  ATTEND_CHECK(v.size(1) == s.kv_heads && v.size(2) == s.keys, ShapeError, "{}: k {} and v {} must agree in H_kv and M",
               op, shape_string(k.shape()), shape_string(v.shape()));
  ATTEND_CHECK(s.kv_heads >= 1 && s.heads % s.kv_heads == 0, ShapeError,
               "{}: query heads H = {} must be a multiple of key/value heads H_kv = {} (q {}, k {})", op, s.heads,
               s.kv_heads, shape_string(q.shape()), shape_string(k.shape()));
  ATTEND_CHECK(s.head_dim >= 1 || o.scale.has_value(), ShapeError,
               "{}: head dimension of q {} is 0; pass an explicit scale", op, shape_string(q.shape()));
  if (o.scale) ATTEND_CHECK(std::isfinite(*o.scale), ValueError, "{}: scale must be finite, got {}", op, *o.scale);
  if (o.mask.defined()) {
    ATTEND_CHECK(broadcasts_to(o.mask.shape(), s.scores()), ShapeError,
                 "{}: mask {} does not broadcast to (B, H, N, M) = {}", op, shape_string(o.mask.shape()),
                 shape_string(s.scores()));
  }
  if (o.additive_mask.defined()) {
    ATTEND_CHECK(broadcasts_to(o.additive_mask.shape(), s.scores()), ShapeError,
                 "{}: additive_mask {} does not broadcast to (B, H, N, M) = {}", op,
                 shape_string(o.additive_mask.shape()), shape_string(s.scores()));
  }
  if (o.key_padding_mask.defined()) {
    ATTEND_CHECK(o.key_padding_mask.shape() == (Shape{s.batch, s.keys}), ShapeError,
                 "{}: key_padding_mask {} must be (B, M) = ({}, {})", op, shape_string(o.key_padding_mask.shape()),
                 s.batch, s.keys);
  }
  if (o.alibi_slopes.defined()) {
    ATTEND_CHECK(o.alibi_slopes.shape() == (Shape{s.heads}), ShapeError, "{}: alibi_slopes {} must be (H) = ({})", op,
                 shape_string(o.alibi_slopes.shape()), s.heads);
  }
  ATTEND_CHECK(o.softcap >= 0 && std::isfinite(o.softcap), ValueError, "{}: softcap must be >= 0, got {}", op,
               o.softcap);
  ATTEND_CHECK(o.dropout_p >= 0 && o.dropout_p < 1, ValueError, "{}: dropout_p must be in [0, 1), got {}", op,
               o.dropout_p);
  ATTEND_CHECK(o.window_left.value_or(0) >= 0 && o.window_right.value_or(0) >= 0, ValueError,
               "{}: window sizes must be >= 0, got left {} right {}", op, o.window_left.value_or(0),
               o.window_right.value_or(0));
  return s;
}

// Position of query i among the keys (see CausalAlignment).
int64_t query_offset(int64_t queries, int64_t keys, CausalAlignment alignment) {
  return alignment == CausalAlignment::kBottomRight ? keys - queries : 0;
}

}  // namespace

template <typename T>
MaskTensor attention_allowed(int64_t batch, int64_t heads, int64_t queries, int64_t keys,
                             const AttentionOptions<T>& o) {
  Shape shape = {1, 1, queries, keys};
  if (o.mask.defined()) shape = broadcast_shapes(shape, o.mask.shape(), "attention_allowed");
  if (o.key_padding_mask.defined()) shape = broadcast_shapes(shape, {batch, 1, 1, keys}, "attention_allowed");
  (void)heads;
  MaskTensor allowed = MaskTensor::empty(shape);  // (1|B, 1|H, N, M)
  const MaskTensor mask = o.mask.defined() ? o.mask.expand(shape) : MaskTensor();
  const int64_t offset = query_offset(queries, keys, o.alignment);
  uint8_t* out = allowed.data();
  for (int64_t b = 0; b < shape[0]; ++b) {
    for (int64_t h = 0; h < shape[1]; ++h) {
      for (int64_t i = 0; i < queries; ++i) {
        const int64_t position = i + offset;  // i'
        for (int64_t j = 0; j < keys; ++j) {
          bool ok = !o.causal || j <= position;
          if (o.window_left) ok = ok && j >= position - *o.window_left;
          if (o.window_right) ok = ok && j <= position + *o.window_right;
          if (o.key_padding_mask.defined()) ok = ok && o.key_padding_mask.at({b, j}) == 0;
          if (mask.defined()) ok = ok && mask.at({b, h, i, j}) != 0;
          *out++ = ok;
        }
      }
    }
  }
  return allowed;
}

template <typename T>
Tensor<T> alibi_slopes(int64_t heads) {
  ATTEND_CHECK(heads >= 1, ValueError, "alibi_slopes: heads must be >= 1, got {}", heads);
  // Slopes for a power of two n: start^1, start^2, ..., start = 2^(-8/n).
  auto power_of_two_slopes = [](int64_t n) {
    std::vector<double> slopes;
    const double start = std::pow(2.0, -8.0 / static_cast<double>(n));
    for (int64_t i = 1; i <= n; ++i) slopes.push_back(std::pow(start, static_cast<double>(i)));
    return slopes;
  };
  int64_t power = 1;
  while (power * 2 <= heads) power *= 2;
  std::vector<double> slopes = power_of_two_slopes(power);
  const std::vector<double> finer = power_of_two_slopes(2 * power);
  for (int64_t i = 0; static_cast<int64_t>(slopes.size()) < heads; i += 2) slopes.push_back(finer[i]);
  Tensor<T> out = Tensor<T>::empty({heads});
  for (int64_t h = 0; h < heads; ++h) out.data()[h] = static_cast<T>(slopes[h]);
  return out;
}

namespace {

// The reference path: composed differentiable ops; materializes the (B, H, N, M) scores.
template <typename T>
AttentionResult<T> reference_attention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                       const AttentionOptions<T>& o, const AttentionShape& s) {
  const int64_t group = s.heads / s.kv_heads;
  const double scale = o.scale.value_or(1.0 / std::sqrt(static_cast<double>(s.head_dim)));

  // S = Q K^T * scale: query heads grouped by their key/value head; K broadcast over the group.
  const Tensor<T> q_grouped = q.reshape({s.batch, s.kv_heads, group, s.queries, s.head_dim});  // (B, H_kv, G, N, D)
  const Tensor<T> k_grouped = k.unsqueeze(2);                                                  // (B, H_kv, 1, M, D)
  Tensor<T> scores = matmul(q_grouped, k_grouped.transpose(-1, -2)).reshape(s.scores());       // (B, H, N, M)
  scores = mul_scalar(scores, static_cast<T>(scale));
  if (o.softcap > 0) {
    const T cap = static_cast<T>(o.softcap);
    scores = mul_scalar(tanh(mul_scalar(scores, T(1) / cap)), cap);
  }
  if (o.additive_mask.defined()) scores = add(scores, o.additive_mask);
  if (o.alibi_slopes.defined()) {
    // -slope_h * |i' - j|
    const int64_t offset = query_offset(s.queries, s.keys, o.alignment);
    Tensor<T> distance = Tensor<T>::empty({1, 1, s.queries, s.keys});  // (1, 1, N, M)
    for (int64_t i = 0; i < s.queries; ++i) {
      for (int64_t j = 0; j < s.keys; ++j) distance.data()[i * s.keys + j] = -static_cast<T>(std::abs(i + offset - j));
    }
    scores = add(scores, mul(o.alibi_slopes.reshape({1, s.heads, 1, 1}), distance));
  }
  const bool masked = o.causal || o.window_left || o.window_right || o.mask.defined() || o.key_padding_mask.defined();
  if (masked) {
    const MaskTensor allowed = attention_allowed(s.batch, s.heads, s.queries, s.keys, o);
    MaskTensor blocked = MaskTensor::empty(allowed.shape());
    for (int64_t i = 0; i < allowed.numel(); ++i) blocked.data()[i] = !allowed.data()[i];
    scores = masked_fill(scores, blocked, -std::numeric_limits<T>::infinity());
  }

  AttentionResult<T> result;
  if (o.need_log_sum_exp) result.log_sum_exp = logsumexp(scores, -1);  // (B, H, N)
  Tensor<T> weights = softmax(scores, -1);                             // (B, H, N, M)
  if (o.dropout_p > 0) weights = dropout(weights, o.dropout_p, o.dropout_seed);
  // O = P V, V broadcast over each group of query heads.
  const Tensor<T> weights_grouped = weights.reshape({s.batch, s.kv_heads, group, s.queries, s.keys});
  result.output = matmul(weights_grouped, v.unsqueeze(2)).reshape({s.batch, s.heads, s.queries, s.value_dim});
  if (o.need_weights) result.weights = weights;
  return result;
}

// Strides of `t` broadcast to (B, H, N, M), as the kernels read masks.
template <typename U>
std::array<int64_t, 4> broadcast_strides4(const Tensor<U>& t, const Shape& target) {
  const Tensor<U> view = t.expand(target);
  return {view.strides()[0], view.strides()[1], view.strides()[2], view.strides()[3]};
}

// K or V read in place through its strides: a view whose rows are contiguous (a KV cache's
// positions held, inside its larger buffer; nn/multi_head_attention.h), when nothing needs them
// contiguous (the weights are recomputed from contiguous operands only). Batch or head strides of
// 0 (broadcast) are copied instead.
bool read_in_place(const Tensor<float>& t, bool need_weights) {
  if (need_weights || t.is_contiguous() || t.rank() != 4) return false;
  const auto& strides = t.strides();
  return strides[3] == 1 && strides[0] > 0 && strides[1] > 0 && strides[2] > 0;
}

// The fused path (float32): tiled online softmax forward, recomputing backward.
AttentionResult<float> fused_attention(const Tensor<float>& q, const Tensor<float>& k, const Tensor<float>& v,
                                       const AttentionOptions<float>& o, const AttentionShape& s) {
  const bool strided_kv = read_in_place(k, o.need_weights) && read_in_place(v, o.need_weights);
  const Tensor<float> qc = q.detach().contiguous();
  const Tensor<float> kc = strided_kv ? k.detach() : k.detach().contiguous();
  const Tensor<float> vc = strided_kv ? v.detach() : v.detach().contiguous();
  const Tensor<float> additive = o.additive_mask.defined() ? o.additive_mask.detach() : Tensor<float>();
  const Tensor<float> slopes = o.alibi_slopes.defined() ? o.alibi_slopes.detach().contiguous() : Tensor<float>();
  const MaskTensor padding = o.key_padding_mask.defined() ? o.key_padding_mask.contiguous() : MaskTensor();
  const Shape scores = s.scores();
  // Everything the problem points into is captured by value below, so the backward pass
  // (which may run long after this call returns) sees live buffers.
  auto make_problem = [=]() {
    kernels::FlashAttentionProblem p;
    p.batch = s.batch;
    p.heads = s.heads;
    p.kv_heads = s.kv_heads;
    p.queries = s.queries;
    p.keys = s.keys;
    p.head_dim = s.head_dim;
    p.value_dim = s.value_dim;
    p.q = qc.data();
    p.k = kc.data();
    p.v = vc.data();
    p.scale = static_cast<float>(o.scale.value_or(1.0 / std::sqrt(static_cast<double>(s.head_dim))));
    p.softcap = static_cast<float>(o.softcap);
    if (o.mask.defined()) {
      p.mask = o.mask.data();
      p.mask_strides = broadcast_strides4(o.mask, scores);
    }
    if (additive.defined()) {
      p.additive = additive.data();
      p.additive_strides = broadcast_strides4(additive, scores);
    }
    if (padding.defined()) p.key_padding = padding.data();
    if (slopes.defined()) p.alibi_slopes = slopes.data();
    p.causal = o.causal;
    p.offset = query_offset(s.queries, s.keys, o.alignment);
    p.window_left = o.window_left.value_or(-1);
    p.window_right = o.window_right.value_or(-1);
    p.dropout_p = o.dropout_p;
    p.dropout_seed = o.dropout_seed;
    if (strided_kv) {  // (batch, head, row) element strides; q and the output stay contiguous
      p.q_strides = {s.heads * s.queries * s.head_dim, s.queries * s.head_dim, s.head_dim};
      p.out_strides = {s.heads * s.queries * s.value_dim, s.queries * s.value_dim, s.value_dim};
      p.k_strides = {kc.strides()[0], kc.strides()[1], kc.strides()[2]};
      p.v_strides = {vc.strides()[0], vc.strides()[1], vc.strides()[2]};
    }
    return p;
  };
  const kernels::FlashAttentionProblem problem = make_problem();
  Tensor<float> out = Tensor<float>::empty({s.batch, s.heads, s.queries, s.value_dim});  // (B, H, N, D_v)
  Tensor<float> log_sum_exp = Tensor<float>::empty({s.batch, s.heads, s.queries});       // (B, H, N)
  if (kernels::use_decode_kernel(problem)) {
    log_debug("scaled_dot_product_attention: split-K decode kernel ({} query rows per head group, {} keys)",
              s.queries * (s.heads / s.kv_heads), s.keys);
    kernels::flash_attention_decode(problem, out.data(), log_sum_exp.data());
  } else {
    kernels::flash_attention_forward(problem, out.data(), log_sum_exp.data());
  }

  AttentionResult<float> result;
  if (o.need_weights) {
    result.weights = Tensor<float>::empty(scores);  // (B, H, N, M), recomputed from the lse
    kernels::attention_weights_from_log_sum_exp(problem, log_sum_exp.data(), result.weights.data());
  }
  if (o.need_log_sum_exp) result.log_sum_exp = log_sum_exp;
  const bool additive_grad = o.additive_mask.defined() && o.additive_mask.requires_grad();
  result.output = record_op<float>(
      "flash_attention", out, {q, k, v, additive_grad ? o.additive_mask : Tensor<float>()},
      [make_problem, out, log_sum_exp, additive_grad, scores,
       additive_shape = additive.defined() ? additive.shape() : Shape{}, qc, kc, vc, additive, slopes, padding,
       mask = o.mask](const Tensor<float>& g) {
        kernels::FlashAttentionProblem p = make_problem();
        // The gradients are written contiguous: K and V read in place are copied for the backward.
        const Tensor<float> k_rows = kc.contiguous(), v_rows = vc.contiguous();
        p.k = k_rows.data();
        p.v = v_rows.data();
        p.q_strides = p.k_strides = p.v_strides = p.out_strides = {0, 0, 0};
        const Tensor<float> d_out = g.contiguous();
        Tensor<float> dq = Tensor<float>::empty(qc.shape()), dk = Tensor<float>::empty(kc.shape()),
                      dv = Tensor<float>::empty(vc.shape());
        Tensor<float> d_additive = additive_grad ? Tensor<float>::zeros(scores) : Tensor<float>();
        kernels::flash_attention_backward(p, out.data(), log_sum_exp.data(), d_out.data(), dq.data(), dk.data(),
                                          dv.data(), additive_grad ? d_additive.data() : nullptr);
        return std::vector<Tensor<float>>{dq, dk, dv,
                                          additive_grad ? sum_to(d_additive, additive_shape) : Tensor<float>()};
      });
  return result;
}

}  // namespace

template <typename T>
std::pair<AttentionImplementation, std::string> choose_attention_implementation(const Tensor<T>& q, const Tensor<T>& k,
                                                                                const Tensor<T>& v,
                                                                                const AttentionOptions<T>& o) {
  if (o.implementation == AttentionImplementation::kReference)
    return {AttentionImplementation::kReference, "requested"};
  const char* unsupported = nullptr;
  if constexpr (!std::is_same_v<T, float>) {
    unsupported = "the fused kernels are float32 only";
  } else {
    if (o.alibi_slopes.defined() && o.alibi_slopes.requires_grad() && grad_enabled()) {
      unsupported = "the gradient of ALiBi slopes is only on the reference path";
    } else if (o.need_weights && any_requires_grad<T>({q, k, v, o.additive_mask})) {
      // The fused kernels recompute P from the log-sum-exp as a constant: a loss on P (or on
      // anything computed from it) would lose its gradient.
      unsupported = "need_weights while a gradient is recorded: the fused path's weights carry none";
    }
  }
  if (unsupported == nullptr) {
    return {AttentionImplementation::kFused,
            o.implementation == AttentionImplementation::kFused ? "requested" : "float32, every option supported"};
  }
  ATTEND_CHECK(o.implementation != AttentionImplementation::kFused, ValueError,
               "scaled_dot_product_attention: implementation kFused was requested but {}", unsupported);
  return {AttentionImplementation::kReference, unsupported};
}

template <typename T>
AttentionResult<T> scaled_dot_product_attention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                                const AttentionOptions<T>& o) {
  const AttentionShape s = validate(q, k, v, o);
  const auto [implementation, reason] = choose_attention_implementation(q, k, v, o);
  log_debug("scaled_dot_product_attention (B={}, H={}, H_kv={}, N={}, M={}, D={}, D_v={}): {} ({})", s.batch, s.heads,
            s.kv_heads, s.queries, s.keys, s.head_dim, s.value_dim,
            implementation == AttentionImplementation::kFused ? "fused" : "reference", reason);
  if constexpr (std::is_same_v<T, float>) {
    if (implementation == AttentionImplementation::kFused) return fused_attention(q, k, v, o, s);
  }
  return reference_attention(q, k, v, o, s);
}

#define ATTEND_INSTANTIATE(T)                                                                                    \
  template std::pair<AttentionImplementation, std::string> choose_attention_implementation(                      \
      const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, const AttentionOptions<T>&);                         \
  template AttentionResult<T> scaled_dot_product_attention(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, \
                                                           const AttentionOptions<T>&);                          \
  template MaskTensor attention_allowed(int64_t, int64_t, int64_t, int64_t, const AttentionOptions<T>&);         \
  template Tensor<T> alibi_slopes<T>(int64_t);
ATTEND_INSTANTIATE(float)
ATTEND_INSTANTIATE(double)
#undef ATTEND_INSTANTIATE

}  // namespace attend
