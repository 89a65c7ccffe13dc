// Packed variable-length attention (the math is in the header): on the fused kernels, one varlen
// call over every sequence's rows in place; otherwise one batch-of-one attention per sequence, on
// views of the packed tensors, joined back in token order.
#include "attend/attention/packed_attention.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <tuple>
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

// One operand of the pack where it lies, (T, H, D): element (t, h, e) at data[t * row + h * head
// + e]. Holds the tensor, so that a recorded backward reads live values.
struct PackedRows {
  Tensor<float> values;
  const float* data = nullptr;
  int64_t row = 0, head = 0;
  explicit PackedRows(const Tensor<float>& x)
      : values(x.detach()), data(values.data()), row(values.strides()[0]), head(values.strides()[1]) {}
};

// Whether the fused kernels can take the pack as it lies, one sequence at a time: float32, not
// the reference implementation asked for, no gradient wanted for ALiBi slopes (the reference
// path's), and rows and heads at positive strides with contiguous elements (a broadcast view goes
// the other way).
bool fused_pack(const Tensor<float>& q, const Tensor<float>& k, const Tensor<float>& v,
                const AttentionOptions<float>& o) {
  const bool slope_gradient = o.alibi_slopes.defined() && o.alibi_slopes.requires_grad() && grad_enabled();
  const auto readable = [](const Tensor<float>& x) {
    return x.strides()[0] >= 1 && x.strides()[1] >= 1 && x.strides()[2] == 1 && x.size(2) >= 1;
  };
  return o.implementation != AttentionImplementation::kReference && !slope_gradient && q.size(0) > 0 && readable(q) &&
         readable(k) && readable(v);
}

// The pack for the fused kernels: q, k, v where they lie, O and dO as (T, H, D_v) contiguous,
// and the options every sequence shares.
struct FusedPack {
  PackedRows q, k, v;
  int64_t heads = 0, kv_heads = 0, head_dim = 0, value_dim = 0;
  AttentionOptions<float> options;
  Tensor<float> slopes;  // (H) contiguous, or undefined

  FusedPack(const Tensor<float>& q_values, const Tensor<float>& k_values, const Tensor<float>& v_values,
            const AttentionOptions<float>& o)
      : q(q_values),
        k(k_values),
        v(v_values),
        heads(q_values.size(1)),
        kv_heads(k_values.size(1)),
        head_dim(q_values.size(2)),
        value_dim(v_values.size(2)),
        options(o) {
    if (o.alibi_slopes.defined()) slopes = o.alibi_slopes.detach().contiguous();
  }

  // Sequence s, rows [begin, begin + n), as a batch of one: the problem scaled_dot_product_attention
  // builds for it (its copies hold the same values), with sequence s's dropout seed.
  kernels::FlashAttentionProblem sequence(size_t s, int64_t begin, int64_t n) const {
    kernels::FlashAttentionProblem p;
    p.batch = 1;
    p.heads = heads;
    p.kv_heads = kv_heads;
    p.queries = p.keys = n;
    p.head_dim = head_dim;
    p.value_dim = value_dim;
    p.q = q.data + begin * q.row;
    p.k = k.data + begin * k.row;
    p.v = v.data + begin * v.row;
    p.q_strides = {0, q.head, q.row};
    p.k_strides = {0, k.head, k.row};
    p.v_strides = {0, v.head, v.row};
    p.out_strides = {0, value_dim, heads * value_dim};
    p.scale = static_cast<float>(options.scale.value_or(1.0 / std::sqrt(static_cast<double>(head_dim))));
    p.softcap = static_cast<float>(options.softcap);
    if (slopes.defined()) p.alibi_slopes = slopes.data();
    p.causal = options.causal;  // offset 0: n queries against n keys, either alignment
    p.window_left = options.window_left.value_or(-1);
    p.window_right = options.window_right.value_or(-1);
    p.dropout_p = options.dropout_p;
    p.dropout_seed = options.dropout_seed + s;
    return p;
  }

  // O (T, H, D_v) and each sequence's log-sum-exp (H, n_s), stored from H o_s: one varlen
  // forward over every sequence's rows in place.
  void forward(const std::vector<int64_t>& lengths, float* out, float* log_sum_exp) const {
    std::vector<kernels::FlashForwardCall> calls;
    calls.reserve(lengths.size());
    int64_t begin = 0;
    for (size_t s = 0; s < lengths.size(); ++s) {
      calls.push_back({sequence(s, begin, lengths[s]), out + begin * heads * value_dim, log_sum_exp + begin * heads});
      begin += lengths[s];
    }
    kernels::flash_attention_forward(calls);
  }

  // dq, dk, dv at the strides of q, k, v (dq's element (t, h, e) at dq[t * q.row + h * q.head +
  // e], ...) from dO (T, H, D_v): one varlen backward over every sequence's rows in place.
  void backward(const std::vector<int64_t>& lengths, const float* out, const float* log_sum_exp, const float* d_out,
                float* dq, float* dk, float* dv) const {
    std::vector<kernels::FlashBackwardCall> calls;
    calls.reserve(lengths.size());
    int64_t begin = 0;
    for (size_t s = 0; s < lengths.size(); ++s) {
      const int64_t o = begin * heads * value_dim;
      calls.push_back({sequence(s, begin, lengths[s]), out + o, log_sum_exp + begin * heads, d_out + o,
                       dq + begin * q.row, dk + begin * k.row, dv + begin * v.row, nullptr});
      begin += lengths[s];
    }
    kernels::flash_attention_backward(calls);
  }
};

// The pack through the fused kernels as one recorded op (or none without a gradient). q, k and v
// are read where they lie; make_gradients returns the inputs' gradients and the pointers to
// write dq, dk and dv at, in q, k and v's layout (one (T, 3, H, D) buffer for a packed
// projection, three (T, H, D) otherwise).
template <typename MakeGradients>
Tensor<float> fused_pack_attention(const std::shared_ptr<const FusedPack>& pack, const std::vector<int64_t>& lengths,
                                   const std::vector<Tensor<float>>& inputs, int64_t tokens,
                                   MakeGradients make_gradients) {
  Tensor<float> out = Tensor<float>::empty({tokens, pack->heads, pack->value_dim});  // (T, H, D_v)
  auto log_sum_exp = std::make_shared<std::vector<float>>(static_cast<size_t>(tokens * pack->heads));
  pack->forward(lengths, out.data(), log_sum_exp->data());
  const Tensor<float> saved_out = out.detach();
  return record_op<float>("packed_attention", out, inputs,
                          [pack, lengths, log_sum_exp, saved_out, make_gradients](const Tensor<float>& g) {
                            // forward: O[rows of s] = attention(q_s, k_s, v_s), for each sequence s
                            const Tensor<float> d_out = g.contiguous();  // (T, H, D_v)
                            auto [gradients, dq, dk, dv] = make_gradients();
                            pack->backward(lengths, saved_out.data(), log_sum_exp->data(), d_out.data(), dq, dk, dv);
                            return gradients;
                          });
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
    if (fused_pack(q, k, v, options)) {
      // With a gradient, contiguous q, k, v (T, H, D): their gradients take the same layout.
      const bool wants_grad = any_requires_grad<float>({q, k, v});
      const Tensor<float> qc = wants_grad ? q.detach().contiguous() : q.detach();
      const Tensor<float> kc = wants_grad ? k.detach().contiguous() : k.detach();
      const Tensor<float> vc = wants_grad ? v.detach().contiguous() : v.detach();
      const auto pack = std::make_shared<const FusedPack>(qc, kc, vc, options);
      const Shape q_shape = q.shape(), k_shape = k.shape(), v_shape = v.shape();
      return fused_pack_attention(pack, sequence_lengths, {q, k, v}, q.size(0), [=]() {
        Tensor<float> dq = Tensor<float>::empty(q_shape), dk = Tensor<float>::empty(k_shape),
                      dv = Tensor<float>::empty(v_shape);
        return std::make_tuple(std::vector<Tensor<float>>{dq, dk, dv}, dq.data(), dk.data(), dv.data());
      });
    }
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

template <typename T>
Tensor<T> packed_self_attention(const Tensor<T>& qkv, const std::vector<int64_t>& sequence_lengths,
                                const AttentionOptions<T>& options) {
  ATTEND_CHECK(qkv.rank() == 4 && qkv.size(1) == 3, ShapeError,
               "packed_self_attention: qkv must be (T, 3, H, D), got {}", shape_string(qkv.shape()));
  const auto part = [&](int64_t i) { return qkv.slice(1, i, i + 1).squeeze(1); };  // (T, H, D) views
  if constexpr (std::is_same_v<T, float>) {
    // Without a gradient, packed_attention on the views below reads them in place already.
    const Tensor<float> qkv_values = any_requires_grad<float>({qkv}) ? qkv.detach().contiguous() : Tensor<float>();
    const auto part_of = [&](int64_t i) { return qkv_values.slice(1, i, i + 1).squeeze(1); };  // (T, H, D)
    if (qkv_values.defined() && fused_pack(part_of(0), part_of(1), part_of(2), options)) {
      const Tensor<float> q = part_of(0), k = part_of(1), v = part_of(2);
      check_packed_inputs(q, k, v, sequence_lengths, options);
      const auto pack = std::make_shared<const FusedPack>(q, k, v, options);
      const Shape shape = qkv.shape();
      const int64_t part_size = shape[2] * shape[3];  // H D: from q's rows to k's, k's to v's
      return fused_pack_attention(pack, sequence_lengths, {qkv}, q.size(0), [=]() {
        Tensor<float> dqkv = Tensor<float>::empty(shape);  // (T, 3, H, D): q, k, v's layout
        float* d = dqkv.data();
        return std::make_tuple(std::vector<Tensor<float>>{dqkv}, d, d + part_size, d + 2 * part_size);
      });
    }
  }
  return packed_attention(part(0), part(1), part(2), sequence_lengths, options);
}

template Tensor<float> packed_attention(const Tensor<float>&, const Tensor<float>&, const Tensor<float>&,
                                        const std::vector<int64_t>&, const AttentionOptions<float>&);
template Tensor<double> packed_attention(const Tensor<double>&, const Tensor<double>&, const Tensor<double>&,
                                         const std::vector<int64_t>&, const AttentionOptions<double>&);
template Tensor<float> packed_self_attention(const Tensor<float>&, const std::vector<int64_t>&,
                                             const AttentionOptions<float>&);
template Tensor<double> packed_self_attention(const Tensor<double>&, const std::vector<int64_t>&,
                                              const AttentionOptions<double>&);

}  // namespace attend
