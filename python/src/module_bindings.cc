// nn::MultiHeadAttention (float32 and float64) with its key/value cache for incremental decoding,
// and its parameters as NumPy arrays (read, and replaced in place).
#include <map>
#include <optional>
#include <string>

#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>

#include "arrays.h"
#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/random.h"
#include "attend/nn/multi_head_attention.h"
#include "bindings.h"

namespace attend::python {
namespace {

nn::AttentionPositional positional_named(const std::string& name) {
  if (name == "none") return nn::AttentionPositional::kNone;
  if (name == "rotary") return nn::AttentionPositional::kRotary;
  if (name == "alibi") return nn::AttentionPositional::kAlibi;
  if (name == "t5") return nn::AttentionPositional::kT5Bias;
  if (name == "shaw") return nn::AttentionPositional::kShaw;
  fail("positional must be 'none', 'rotary', 'alibi', 't5' or 'shaw', not '{}'", name);
}

template <typename T>
std::unique_ptr<nn::MultiHeadAttention<T>> make_attention(int64_t embed_dim, int64_t num_heads, int64_t num_kv_heads,
                                                          int64_t key_dim, int64_t value_dim, int64_t head_dim,
                                                          bool bias, const std::string& positional, uint64_t seed) {
  nn::MultiHeadAttentionConfig config;
  config.embed_dim = embed_dim;
  config.num_heads = num_heads;
  config.num_kv_heads = num_kv_heads;
  config.key_dim = key_dim;
  config.value_dim = value_dim;
  config.head_dim = head_dim;
  config.bias = bias;
  config.positional = positional_named(positional);
  Generator generator(seed);
  return std::make_unique<nn::MultiHeadAttention<T>>(config, generator);
}

// query (B, N, E), key (B, M, key_dim), value (B, M, value_dim) -> output (B, N, E), or
// (output, weights) with need_weights.
template <typename T>
nb::object attend_forward(nn::MultiHeadAttention<T>& module, const InputArray<T>& query,
                          const std::optional<InputArray<T>>& key, const std::optional<InputArray<T>>& value,
                          const std::optional<AnyArray>& attention_mask,
                          const std::optional<AnyArray>& key_padding_mask, bool causal, bool need_weights,
                          bool average_weights, nn::KeyValueCache<T>* cache) {
  ATTEND_CHECK(key.has_value() == value.has_value(), ValueError,
               "give both key and value, or neither (self-attention)");
  const Tensor<T> q = to_tensor(query);
  const Tensor<T> k = key ? to_tensor(*key) : q, v = value ? to_tensor(*value) : q;
  nn::MultiHeadAttentionOptions<T> options;
  options.attention_mask = to_mask(attention_mask, "attention_mask");
  options.key_padding_mask = to_mask(key_padding_mask, "key_padding_mask");
  options.causal = causal;
  options.need_weights = need_weights;
  options.average_weights = average_weights;
  options.cache = cache;
  nn::MultiHeadAttentionOutput<T> result;
  {
    nb::gil_scoped_release unlocked;
    NoGradGuard no_grad;
    result = module.forward(q, k, v, options);
  }
  if (!need_weights) return nb::cast(to_numpy(result.output));
  return nb::make_tuple(to_numpy(result.output), to_numpy(result.weights));
}

// {name: array} of the parameters (copies: changing them changes nothing; use load_parameters).
template <typename T>
std::map<std::string, OutputArray<T>> parameters_of(const nn::MultiHeadAttention<T>& module) {
  std::map<std::string, OutputArray<T>> all;
  for (const auto& [name, parameter] : module.named_parameters()) all.emplace(name, to_numpy(parameter.clone()));
  return all;
}

// Copies every given array into the parameter of its name; every name and shape is checked first.
template <typename T>
void load_parameters(nn::MultiHeadAttention<T>& module, const std::map<std::string, InputArray<T>>& arrays) {
  const auto named = module.named_parameters();
  std::map<std::string, Tensor<T>> by_name(named.begin(), named.end());
  for (const auto& [name, array] : arrays) {
    const auto found = by_name.find(name);
    ATTEND_CHECK(found != by_name.end(), ValueError, "MultiHeadAttention has no parameter '{}'", name);
    const Tensor<T> value = to_tensor(array);
    ATTEND_CHECK(value.shape() == found->second.shape(), ShapeError, "parameter '{}' is {}; the array is {}", name,
                 shape_string(found->second.shape()), shape_string(value.shape()));
  }
  for (const auto& [name, array] : arrays) {
    const Tensor<T> value = to_tensor(array);
    Tensor<T>& parameter = by_name.at(name);
    std::copy(value.data(), value.data() + value.numel(), parameter.data());
  }
}

template <typename T>
void bind_attention_module(nb::module_& m, const char* name, const char* cache_name) {
  using namespace nb::literals;
  nb::class_<nn::KeyValueCache<T>>(m, cache_name, "Projected keys and values of the tokens seen so far.")
      .def(nb::init<>())
      .def_prop_ro("length", &nn::KeyValueCache<T>::length)
      .def("clear", &nn::KeyValueCache<T>::clear);
  nb::class_<nn::MultiHeadAttention<T>>(m, name,
                                        "Multi-head attention (grouped-query with num_kv_heads, cross-attention "
                                        "with key_dim/value_dim), parameters drawn from `seed`.")
      .def(nb::new_(&make_attention<T>), "embed_dim"_a, "num_heads"_a, "num_kv_heads"_a = 0, "key_dim"_a = 0,
           "value_dim"_a = 0, "head_dim"_a = 0, "bias"_a = true, "positional"_a = "none", "seed"_a = 0)
      .def("forward", &attend_forward<T>, "query"_a, "key"_a = nb::none(), "value"_a = nb::none(), nb::kw_only(),
           "attention_mask"_a = nb::none(), "key_padding_mask"_a = nb::none(), "causal"_a = false,
           "need_weights"_a = false, "average_weights"_a = true, "cache"_a = nb::none(),
           "query (B, N, E) [, key (B, M, key_dim), value (B, M, value_dim)] -> (B, N, E); with a cache, key and "
           "value are the new tokens only.")
      .def("__call__", &attend_forward<T>, "query"_a, "key"_a = nb::none(), "value"_a = nb::none(), nb::kw_only(),
           "attention_mask"_a = nb::none(), "key_padding_mask"_a = nb::none(), "causal"_a = false,
           "need_weights"_a = false, "average_weights"_a = true, "cache"_a = nb::none())
      .def("parameters", &parameters_of<T>, "{name: array}, copies of the parameters.")
      .def("load_parameters", &load_parameters<T>, "parameters"_a,
           "Copies {name: array} into the parameters (names and shapes checked before any is changed).")
      .def_prop_ro("parameter_count", &nn::MultiHeadAttention<T>::parameter_count);
}

}  // namespace

void bind_modules(nb::module_& m) {
  bind_attention_module<float>(m, "MultiHeadAttention32", "KeyValueCache32");
  bind_attention_module<double>(m, "MultiHeadAttention64", "KeyValueCache64");
}

}  // namespace attend::python
