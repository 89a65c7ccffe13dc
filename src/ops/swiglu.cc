// swiglu (attend/ops/elementwise.h): silu(gate) * up, element by element.
#include <cmath>
#include <type_traits>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/ops/elementwise.h"
#include "attend/core/parallel.h"
#include "kernels/swiglu.h"
#include "ops/map.h"

namespace attend {
namespace {

// sigmoid(g), branching on the sign so that exp never overflows.
template <typename T>
T stable_sigmoid(T g) {
  if (g >= 0) return T(1) / (T(1) + std::exp(-g));
  const T e = std::exp(g);
  return e / (T(1) + e);
}

}  // namespace

template <typename T>
Tensor<T> swiglu(const Tensor<T>& gate, const Tensor<T>& up) {
  ATTEND_CHECK(gate.shape() == up.shape(), ShapeError, "swiglu: gate {} and up {} must have one shape",
               shape_string(gate.shape()), shape_string(up.shape()));
  // y = silu(g) * u = g * sigmoid(g) * u; float through the vectorized kernel (kernels/swiglu.h)
  Tensor<T> out;
  if constexpr (std::is_same_v<T, float>) {
    const Tensor<float> g = gate.detach().contiguous(), u = up.detach().contiguous();
    out = Tensor<float>::empty(gate.shape());
    parallel_for(g.numel(), 16384, [&](int64_t begin, int64_t end) {
      kernels::swiglu_forward(g.data() + begin, u.data() + begin, end - begin, out.data() + begin);
    });
  } else {
    out = detail::map_binary(gate, up, "swiglu", [](T g, T u) { return g * stable_sigmoid(g) * u; });
  }
  return record_op<T>("swiglu", out, {gate, up}, [gate, up](const Tensor<T>& dy) {
    // du = dy * silu(g);  dg = dy * u * sigmoid(g) * (1 + g * (1 - sigmoid(g)))
    const Tensor<T> d_up =
        detail::map_binary(dy, gate, "swiglu_backward", [](T d, T g) { return d * g * stable_sigmoid(g); });
    const Tensor<T> dy_up = detail::map_binary(dy, up, "swiglu_backward", [](T d, T u) { return d * u; });
    const Tensor<T> d_gate = detail::map_binary(dy_up, gate, "swiglu_backward", [](T du, T g) {
      const T s = stable_sigmoid(g);
      return du * s * (T(1) + g * (T(1) - s));
    });
    return std::vector<Tensor<T>>{d_gate, d_up};
  });
}

template Tensor<float> swiglu(const Tensor<float>&, const Tensor<float>&);
template Tensor<double> swiglu(const Tensor<double>&, const Tensor<double>&);

}  // namespace attend
