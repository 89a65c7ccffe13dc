// attend's score functions: q (B, N, Dq), k (B, M, Dk) -> scores (B, N, M), float32 and float64.
#include "arrays.h"
#include "attend/attention/score_functions.h"
#include "attend/core/autograd.h"
#include "bindings.h"

namespace attend::python {
namespace {

// One scorer over any number of input arrays: converted, computed without the GIL, returned.
template <typename T, typename Function, typename... Arrays>
OutputArray<T> score(Function function, const Arrays&... arrays) {
  const auto tensors = std::make_tuple(to_tensor(arrays)...);
  Tensor<T> scores;
  {
    nb::gil_scoped_release unlocked;
    NoGradGuard no_grad;
    scores = std::apply(function, tensors);
  }
  return to_numpy(scores);
}

template <typename T>
void bind_scores_for(nb::module_& m) {
  using namespace nb::literals;
  using Array = const InputArray<T>&;
  m.def(
      "dot_scores", [](Array q, Array k) { return score<T>(&dot_scores<T>, q, k); }, "q"_a, "k"_a,
      "q k^T: (B, N, D), (B, M, D) -> (B, N, M).");
  m.def(
      "scaled_dot_scores", [](Array q, Array k) { return score<T>(&scaled_dot_scores<T>, q, k); }, "q"_a, "k"_a,
      "q k^T / sqrt(D): (B, N, D), (B, M, D) -> (B, N, M).");
  m.def(
      "general_scores", [](Array q, Array k, Array weight) { return score<T>(&general_scores<T>, q, k, weight); },
      "q"_a, "k"_a, "weight"_a, "q W k^T (Luong et al. 2015): (B, N, Dq), (B, M, Dk), W (Dq, Dk) -> (B, N, M).");
  m.def(
      "additive_scores",
      [](Array q, Array k, Array query_weight, Array key_weight, Array score_weight) {
        return score<T>(&additive_scores<T>, q, k, query_weight, key_weight, score_weight);
      },
      "q"_a, "k"_a, "query_weight"_a, "key_weight"_a, "score_weight"_a,
      "v^T tanh(q Wq + k Wk) (Bahdanau et al. 2015): Wq (Dq, A), Wk (Dk, A), v (A) -> (B, N, M).");
  m.def(
      "cosine_scores",
      [](Array q, Array k, Array log_temperature) { return score<T>(&cosine_scores<T>, q, k, log_temperature); }, "q"_a,
      "k"_a, "log_temperature"_a, "exp(log_temperature) * cos(q_i, k_j): (B, N, D), (B, M, D), () -> (B, N, M).");
}

}  // namespace

void bind_scores(nb::module_& m) {
  bind_scores_for<float>(m);
  bind_scores_for<double>(m);
}

}  // namespace attend::python
