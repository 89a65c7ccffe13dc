// attend.scaled_dot_product_attention: every option of attend::AttentionOptions, float32 and
// float64 (one overload each; NumPy picks by dtype).
#include <optional>
#include <string>
#include <tuple>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>

#include "arrays.h"
#include "attend/attention/scaled_dot_product.h"
#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "bindings.h"

namespace attend::python {
namespace {

AttentionImplementation implementation_named(const std::string& name) {
  if (name == "auto") return AttentionImplementation::kAuto;
  if (name == "reference") return AttentionImplementation::kReference;
  if (name == "fused") return AttentionImplementation::kFused;
  fail("implementation must be 'auto', 'reference' or 'fused', not '{}'", name);
}

CausalAlignment alignment_named(const std::string& name) {
  if (name == "top-left") return CausalAlignment::kTopLeft;
  if (name == "bottom-right") return CausalAlignment::kBottomRight;
  fail("alignment must be 'top-left' or 'bottom-right', not '{}'", name);
}

// q (B, H, N, D), k (B, H_kv, M, D), v (B, H_kv, M, D_v) -> output (B, H, N, D_v), and with
// need_weights / need_log_sum_exp the tuple (output, weights (B, H, N, M) or None,
// log_sum_exp (B, H, N) or None).
template <typename T>
nb::object attention(const InputArray<T>& q_array, const InputArray<T>& k_array, const InputArray<T>& v_array,
                     const std::optional<AnyArray>& mask, const std::optional<InputArray<T>>& additive_mask,
                     const std::optional<AnyArray>& key_padding_mask, bool causal, const std::string& alignment,
                     std::optional<int64_t> window_left, std::optional<int64_t> window_right,
                     const std::optional<InputArray<T>>& alibi_slopes, double softcap, std::optional<double> scale,
                     double dropout_p, uint64_t dropout_seed, bool need_weights, bool need_log_sum_exp,
                     const std::string& implementation) {
  const Tensor<T> q = to_tensor(q_array), k = to_tensor(k_array), v = to_tensor(v_array);
  AttentionOptions<T> options;
  options.scale = scale;
  options.mask = to_mask(mask, "mask");
  options.additive_mask = to_tensor(additive_mask);
  options.key_padding_mask = to_mask(key_padding_mask, "key_padding_mask");
  options.causal = causal;
  options.alignment = alignment_named(alignment);
  options.window_left = window_left;
  options.window_right = window_right;
  options.alibi_slopes = to_tensor(alibi_slopes);
  options.softcap = softcap;
  options.dropout_p = dropout_p;
  options.dropout_seed = dropout_seed;
  options.need_weights = need_weights;
  options.need_log_sum_exp = need_log_sum_exp;
  options.implementation = implementation_named(implementation);
  AttentionResult<T> result;
  {
    nb::gil_scoped_release unlocked;
    NoGradGuard no_grad;
    result = scaled_dot_product_attention(q, k, v, options);
  }
  nb::object output = nb::cast(to_numpy(result.output));
  if (!need_weights && !need_log_sum_exp) return output;
  nb::object weights = need_weights ? nb::cast(to_numpy(result.weights)) : nb::none();
  nb::object log_sum_exp = need_log_sum_exp ? nb::cast(to_numpy(result.log_sum_exp)) : nb::none();
  return nb::make_tuple(output, weights, log_sum_exp);
}

template <typename T>
void bind_attention_for(nb::module_& m) {
  using namespace nb::literals;
  m.def("scaled_dot_product_attention", &attention<T>, "q"_a, "k"_a, "v"_a, nb::kw_only(), "mask"_a = nb::none(),
        "additive_mask"_a = nb::none(), "key_padding_mask"_a = nb::none(), "causal"_a = false,
        "alignment"_a = "top-left", "window_left"_a = nb::none(), "window_right"_a = nb::none(),
        "alibi_slopes"_a = nb::none(), "softcap"_a = 0.0, "scale"_a = nb::none(), "dropout_p"_a = 0.0,
        "dropout_seed"_a = 0, "need_weights"_a = false, "need_log_sum_exp"_a = false, "implementation"_a = "auto",
        "softmax(q k^T * scale + masks) v for q (B, H, N, D), k (B, H_kv, M, D), v (B, H_kv, M, D_v) -> (B, H, N, "
        "D_v).\n\nmask / key_padding_mask: bool or integer, nonzero = may attend / is padding. Fully masked rows give "
        "zeros. With need_weights or need_log_sum_exp: (output, weights or None, log_sum_exp or None).");
}

}  // namespace

void bind_attention(nb::module_& m) {
  using namespace nb::literals;
  bind_attention_for<float>(m);
  bind_attention_for<double>(m);
  m.def(
      "alibi_slopes",
      [](int64_t heads, const std::string& dtype) -> nb::object {
        if (dtype == "float32") return nb::cast(to_numpy(attend::alibi_slopes<float>(heads)));
        ATTEND_CHECK(dtype == "float64", ValueError, "dtype must be 'float32' or 'float64', not '{}'", dtype);
        return nb::cast(to_numpy(attend::alibi_slopes<double>(heads)));
      },
      "heads"_a, "dtype"_a = "float32", "ALiBi's slopes for `heads` heads (Press et al. 2022).");
}

}  // namespace attend::python
