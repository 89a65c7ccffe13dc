// Packed variable-length attention (the math is in the header): one batch-of-one attention per
// sequence, on views of the packed tensors, joined back in token order.
#include "attend/attention/packed_attention.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/ops/shape_ops.h"
#include "kernels/flash_attention.h"

namespace attend {
namespace {

template <typename T>
void check_packed_inputs(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                         const std::vector<int64_t>& lengths, const AttentionOptions<T>& o) {
  const char* op = "packed_attention";
  ATTEND_CHECK(q.rank() == 3 && k.rank() == 3 && v.rank() == 3, ShapeError,
               "{}: q, k, v must be (T, H, D), (T, H_kv, D), (T, H_kv, D_v); got {}, {}, {}", op,
               shape_string(q.shape()), shape_string(k.shape()), shape_string(v.shape()));
  ATTEND_CHECK(k.size(0) == q.size(0) && v.size(0) == q.size(0), ShapeError,
               "{}: q {}, k {} and v {} must hold the same tokens T", op, shape_string(q.shape()),
               shape_string(k.shape()), shape_string(v.shape()));
  ATTEND_CHECK(k.size(2) == q.size(2) && v.size(1) == k.size(1), ShapeError,
               "{}: q {}, k {}, v {} must agree in D (q, k) and H_kv (k, v)", op, shape_string(q.shape()),
               shape_string(k.shape()), shape_string(v.shape()));
  ATTEND_CHECK(k.size(1) >= 1 && q.size(1) % k.size(1) == 0, ShapeError,
               "{}: the H = {} heads of q {} must be a multiple of the H_kv = {} heads of k {}", op, q.size(1),
               shape_string(q.shape()), k.size(1), shape_string(k.shape()));
  ATTEND_CHECK(!o.mask.defined() && !o.additive_mask.defined() && !o.key_padding_mask.defined(), ValueError,
               "{}: mask, additive_mask and key_padding_mask have a batch axis that a pack does not; each "
               "sequence attends to all of itself (causal and window options apply within it)",
               op);
  ATTEND_CHECK(!o.need_weights && !o.need_log_sum_exp, ValueError,
               "{}: need_weights and need_log_sum_exp differ in shape per sequence; call "
               "scaled_dot_product_attention on the sequence",
               op);
  int64_t total = 0;
  for (size_t s = 0; s < lengths.size(); ++s) {
    ATTEND_CHECK(lengths[s] >= 1, ValueError, "{}: sequence {} has length {}; every length must be >= 1", op, s,
                 lengths[s]);
    total += lengths[s];
  }
  ATTEND_CHECK(total == q.size(0), ValueError, "{}: the {} sequence lengths sum to {} tokens, but q {} holds T = {}",
               op, lengths.size(), total, shape_string(q.shape()), q.size(0));
}

// rows [begin, end) of x (T, H, D) as a batch of one, (1, H, n, D).
template <typename T>
Tensor<T> sequence_as_batch(const Tensor<T>& x, int64_t begin, int64_t end) {
  return x.slice(0, begin, end).transpose(0, 1).unsqueeze(0);
}

// Whether the pack can go straight to the fused forward kernel, reading q, k and v in place and
// writing O (T, H, D_v) once: float32, no gradient wanted, and no option beyond causal (BERT's
// inference). Otherwise each sequence goes through scaled_dot_product_attention, which copies its
// q, k and v into (1, H, n, D) and records the backward.
bool in_place_inference(const Tensor<float>& q, const Tensor<float>& k, const Tensor<float>& v,
                        const AttentionOptions<float>& o) {
  const bool wants_grad = grad_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  const bool plain = !o.scale && !o.window_left && !o.window_right && !o.alibi_slopes.defined() && o.softcap == 0 &&
                     o.dropout_p == 0 && o.implementation != AttentionImplementation::kReference;
  // Rows and heads at positive strides, elements contiguous (a broadcast view goes the other way).
  const auto readable = [](const Tensor<float>& x) {
    return x.strides()[0] >= 1 && x.strides()[1] >= 1 && x.strides()[2] == 1 && x.size(2) >= 1;
  };
  return !wants_grad && plain && q.size(0) > 0 && readable(q) && readable(k) && readable(v);
}

// O (T, H, D_v): for each sequence, the forward kernel on the sequence's rows of q, k and v
// (row strides as they are) as a batch of one, writing its rows of O. The same arithmetic as the
// per-sequence path (the kernel reads the same values), so the same bits.
Tensor<float> packed_forward_in_place(const Tensor<float>& q, const Tensor<float>& k, const Tensor<float>& v,
                                      const std::vector<int64_t>& lengths, bool causal) {
  const int64_t heads = q.size(1), kv_heads = k.size(1), head_dim = q.size(2), value_dim = v.size(2);
  Tensor<float> out = Tensor<float>::empty({q.size(0), heads, value_dim});  // (T, H, D_v)
  const int64_t longest = *std::max_element(lengths.begin(), lengths.end());
  std::vector<float> log_sum_exp(heads * longest);  // (H, n) of one sequence, not returned
  int64_t begin = 0;
  for (const int64_t n : lengths) {
    kernels::FlashAttentionProblem p;
    p.batch = 1;
    p.heads = heads;
    p.kv_heads = kv_heads;
    p.queries = p.keys = n;
    p.head_dim = head_dim;
    p.value_dim = value_dim;
    p.q = q.data() + begin * q.strides()[0];
    p.k = k.data() + begin * k.strides()[0];
    p.v = v.data() + begin * v.strides()[0];
    p.q_strides = {0, q.strides()[1], q.strides()[0]};
    p.k_strides = {0, k.strides()[1], k.strides()[0]};
    p.v_strides = {0, v.strides()[1], v.strides()[0]};
    p.out_strides = {0, value_dim, heads * value_dim};
    p.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
    p.causal = causal;  // offset 0: n queries against n keys, either alignment
    kernels::flash_attention_forward(p, out.data() + begin * heads * value_dim, log_sum_exp.data());
    begin += n;
  }
  return out;
}

// One sequence's attention, recorded on its own small tape: leaves over its rows of q, k, v
// (views, (1, H, n, D)) and the output that scaled_dot_product_attention recorded from them.
template <typename T>
struct SequenceTape {
  Tensor<T> q, k, v;  // (1, H, n, D), (1, H_kv, n, D), (1, H_kv, n, D_v) leaves
  Tensor<T> out;      // (1, H, n, D_v)
  int64_t begin = 0, end = 0;
};

// The pack as one op on the outer tape, for when a gradient is wanted. Each sequence runs
// scaled_dot_product_attention (its fused kernels and their backward) on leaves of its own;
// backward runs each sequence's tape with its rows of dO and writes the leaves' gradients into
// the rows of dq, dk, dv. Recording the sequences on the outer tape instead would give every
// sequence's slice a gradient of the whole pack's shape, summed B times: O(B T) work a layer.
template <typename T>
Tensor<T> packed_attention_recorded(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                    const std::vector<int64_t>& lengths, const AttentionOptions<T>& options) {
  auto tapes = std::make_shared<std::vector<SequenceTape<T>>>(lengths.size());
  std::vector<Tensor<T>> outputs;  // (n_s, H, D_v) each
  outputs.reserve(lengths.size());
  AttentionOptions<T> sequence_options = options;
  const auto leaf = [](const Tensor<T>& x, int64_t begin, int64_t end) {
    return sequence_as_batch(x.detach(), begin, end).set_requires_grad();
  };
  int64_t begin = 0;
  for (size_t s = 0; s < lengths.size(); ++s) {
    SequenceTape<T>& tape = (*tapes)[s];
    tape.begin = begin;
    tape.end = begin + lengths[s];
    tape.q = leaf(q, tape.begin, tape.end);
    tape.k = leaf(k, tape.begin, tape.end);
    tape.v = leaf(v, tape.begin, tape.end);
    sequence_options.dropout_seed = options.dropout_seed + s;
    // O_s (1, H, n_s, D_v) = attention(q_s, k_s, v_s)
    tape.out = scaled_dot_product_attention(tape.q, tape.k, tape.v, sequence_options).output;
    outputs.push_back(tape.out.detach().squeeze(0).transpose(0, 1));
    begin = tape.end;
  }
  Tensor<T> out;  // (T, H, D_v)
  {
    NoGradGuard no_grad;
    out = outputs.size() == 1 ? outputs[0].contiguous() : concat(outputs, 0);
  }
  const Shape q_shape = q.shape(), k_shape = k.shape(), v_shape = v.shape();
  return record_op<T>("packed_attention", out, {q, k, v}, [tapes, q_shape, k_shape, v_shape](const Tensor<T>& g) {
    // forward: O[rows of s] = attention(q_s, k_s, v_s), for each sequence s
    Tensor<T> dq = Tensor<T>::empty(q_shape), dk = Tensor<T>::empty(k_shape), dv = Tensor<T>::empty(v_shape);
    for (SequenceTape<T>& tape : *tapes) {
      // The sequence tapes live as long as this function does (until the outer tape releases
      // it), so that the outer graph can be run again when the caller retains it.
      for (Tensor<T>* x : {&tape.q, &tape.k, &tape.v}) x->zero_grad();
      tape.out.backward(sequence_as_batch(g, tape.begin, tape.end).contiguous(), /*retain_graph=*/true);
      dq.slice(0, tape.begin, tape.end).copy_from(tape.q.grad().squeeze(0).transpose(0, 1));
      dk.slice(0, tape.begin, tape.end).copy_from(tape.k.grad().squeeze(0).transpose(0, 1));
      dv.slice(0, tape.begin, tape.end).copy_from(tape.v.grad().squeeze(0).transpose(0, 1));
    }
    return std::vector<Tensor<T>>{dq, dk, dv};
  });
}

}  // namespace

template <typename T>
Tensor<T> packed_attention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                           const std::vector<int64_t>& sequence_lengths, const AttentionOptions<T>& options) {
  check_packed_inputs(q, k, v, sequence_lengths, options);
  if constexpr (std::is_same_v<T, float>) {
    if (in_place_inference(q, k, v, options)) return packed_forward_in_place(q, k, v, sequence_lengths, options.causal);
  }
  if (sequence_lengths.empty()) return Tensor<T>::zeros({0, q.size(1), v.size(2)});
  if (any_requires_grad<T>({q, k, v})) return packed_attention_recorded(q, k, v, sequence_lengths, options);
  std::vector<Tensor<T>> outputs;  // (n_s, H, D_v) each
  outputs.reserve(sequence_lengths.size());
  AttentionOptions<T> sequence_options = options;
  int64_t begin = 0;
  for (size_t s = 0; s < sequence_lengths.size(); ++s) {
    const int64_t end = begin + sequence_lengths[s];
    sequence_options.dropout_seed = options.dropout_seed + s;
    // O_s (1, H, n_s, D_v) = attention(q_s, k_s, v_s)
    const Tensor<T> out =
        scaled_dot_product_attention(sequence_as_batch(q, begin, end), sequence_as_batch(k, begin, end),
                                     sequence_as_batch(v, begin, end), sequence_options)
            .output;
    outputs.push_back(out.squeeze(0).transpose(0, 1));
    begin = end;
  }
  return outputs.size() == 1 ? outputs[0].contiguous() : concat(outputs, 0);
}

template Tensor<float> packed_attention(const Tensor<float>&, const Tensor<float>&, const Tensor<float>&,
                                        const std::vector<int64_t>&, const AttentionOptions<float>&);
template Tensor<double> packed_attention(const Tensor<double>&, const Tensor<double>&, const Tensor<double>&,
                                         const std::vector<int64_t>&, const AttentionOptions<double>&);

}  // namespace attend
