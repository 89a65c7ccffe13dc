#include "attend/ops/elementwise.h"

#include <cmath>
#include <type_traits>

#include "attend/core/autograd.h"
#include "attend/core/parallel.h"
#include "attend/ops/reduction.h"
#include "kernels/gelu.h"
#include "ops/map.h"

namespace attend {

using detail::map_binary;
using detail::map_unary;

// Elements per task of the vectorized float kernels.
constexpr int64_t kElementwiseGrain = 4096;

// ---- binary ----
// Each backward reduces the broadcast gradient back to the input's shape with sum_to.

template <typename T>
Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = map_binary(a, b, "add", [](T x, T y) { return x + y; });
  return record_op<T>("add", out, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor<T>& g) {
    // forward: out = a + b
    return std::vector<Tensor<T>>{sum_to(g, sa), sum_to(g, sb)};
  });
}

template <typename T>
Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = map_binary(a, b, "sub", [](T x, T y) { return x - y; });
  return record_op<T>("sub", out, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor<T>& g) {
    // forward: out = a - b
    return std::vector<Tensor<T>>{sum_to(g, sa), neg(sum_to(g, sb))};
  });
}

template <typename T>
Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = map_binary(a, b, "mul", [](T x, T y) { return x * y; });
  return record_op<T>("mul", out, {a, b}, [a, b](const Tensor<T>& g) {
    // forward: out = a * b
    Tensor<T> grad_a = a.requires_grad() ? sum_to(mul(g, b), a.shape()) : Tensor<T>();
    Tensor<T> grad_b = b.requires_grad() ? sum_to(mul(g, a), b.shape()) : Tensor<T>();
    return std::vector<Tensor<T>>{grad_a, grad_b};
  });
}

template <typename T>
Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = map_binary(a, b, "div", [](T x, T y) { return x / y; });
  return record_op<T>("div", out, {a, b}, [sa = a.shape(), b, out](const Tensor<T>& g) {
    // forward: out = a / b;  d/da = 1/b,  d/db = -a/b^2 = -out/b
    const Tensor<T> g_over_b = div(g, b);
    return std::vector<Tensor<T>>{sum_to(g_over_b, sa), neg(sum_to(mul(g_over_b, out), b.shape()))};
  });
}

template <typename T>
Tensor<T> add_scalar(const Tensor<T>& x, std::type_identity_t<T> s) {
  Tensor<T> out = map_unary(x, [s](T v) { return v + s; });
  return record_op<T>("add_scalar", out, {x}, [](const Tensor<T>& g) { return std::vector<Tensor<T>>{g}; });
}

template <typename T>
Tensor<T> mul_scalar(const Tensor<T>& x, std::type_identity_t<T> s) {
  Tensor<T> out = map_unary(x, [s](T v) { return v * s; });
  return record_op<T>("mul_scalar", out, {x},
                      [s](const Tensor<T>& g) { return std::vector<Tensor<T>>{mul_scalar(g, s)}; });
}

// ---- unary ----

template <typename T>
Tensor<T> neg(const Tensor<T>& x) {
  Tensor<T> out = map_unary(x, [](T v) { return -v; });
  return record_op<T>("neg", out, {x}, [](const Tensor<T>& g) { return std::vector<Tensor<T>>{neg(g)}; });
}

template <typename T>
Tensor<T> square(const Tensor<T>& x) {
  Tensor<T> out = map_unary(x, [](T v) { return v * v; });
  return record_op<T>("square", out, {x}, [x](const Tensor<T>& g) {
    // forward: out = x^2
    return std::vector<Tensor<T>>{map_binary(g, x, "square_backward", [](T gv, T xv) { return 2 * xv * gv; })};
  });
}

template <typename T>
Tensor<T> sqrt(const Tensor<T>& x) {
  Tensor<T> out = map_unary(x, [](T v) { return std::sqrt(v); });
  return record_op<T>("sqrt", out, {x}, [out](const Tensor<T>& g) {
    // forward: out = sqrt(x);  d/dx = 1 / (2 out)
    return std::vector<Tensor<T>>{map_binary(g, out, "sqrt_backward", [](T gv, T y) { return gv / (2 * y); })};
  });
}

template <typename T>
Tensor<T> exp(const Tensor<T>& x) {
  Tensor<T> out = map_unary(x, [](T v) { return std::exp(v); });
  return record_op<T>("exp", out, {x}, [out](const Tensor<T>& g) {
    // forward: out = exp(x);  d/dx = out
    return std::vector<Tensor<T>>{mul(g, out)};
  });
}

template <typename T>
Tensor<T> log(const Tensor<T>& x) {
  Tensor<T> out = map_unary(x, [](T v) { return std::log(v); });
  return record_op<T>("log", out, {x}, [x](const Tensor<T>& g) {
    // forward: out = log(x);  d/dx = 1 / x
    return std::vector<Tensor<T>>{div(g, x)};
  });
}

template <typename T>
Tensor<T> tanh(const Tensor<T>& x) {
  Tensor<T> out = map_unary(x, [](T v) { return std::tanh(v); });
  return record_op<T>("tanh", out, {x}, [out](const Tensor<T>& g) {
    // forward: out = tanh(x);  d/dx = 1 - out^2
    return std::vector<Tensor<T>>{map_binary(g, out, "tanh_backward", [](T gv, T y) { return gv * (1 - y * y); })};
  });
}

template <typename T>
Tensor<T> sigmoid(const Tensor<T>& x) {
  Tensor<T> out = map_unary(x, [](T v) {
    // Branch on the sign so that exp never overflows.
    if (v >= 0) return T(1) / (T(1) + std::exp(-v));
    const T e = std::exp(v);
    return e / (T(1) + e);
  });
  return record_op<T>("sigmoid", out, {x}, [out](const Tensor<T>& g) {
    // forward: out = sigmoid(x);  d/dx = out (1 - out)
    return std::vector<Tensor<T>>{map_binary(g, out, "sigmoid_backward", [](T gv, T y) { return gv * y * (1 - y); })};
  });
}

template <typename T>
Tensor<T> relu(const Tensor<T>& x) {
  // `v < 0 ? 0 : v` rather than max(v, 0): keeps NaN as NaN.
  Tensor<T> out = map_unary(x, [](T v) { return v < 0 ? T(0) : v; });
  return record_op<T>("relu", out, {x}, [x](const Tensor<T>& g) {
    // forward: out = x < 0 ? 0 : x;  d/dx = [x > 0] (0 at the kink, as in PyTorch)
    return std::vector<Tensor<T>>{map_binary(g, x, "relu_backward", [](T gv, T xv) { return xv > 0 ? gv : T(0); })};
  });
}

template <typename T>
Tensor<T> gelu(const Tensor<T>& x) {
  if constexpr (std::is_same_v<T, float>) {  // vectorized, erf to 1.5e-7 (kernels/gelu.h)
    const Tensor<float> in = x.detach().contiguous();
    Tensor<float> out = Tensor<float>::empty(x.shape());
    const float* source = in.data();
    float* target = out.data();
    parallel_for(x.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      kernels::gelu_forward(source + begin, end - begin, target + begin);
    });
    return record_op<float>("gelu", out, {x}, [in](const Tensor<float>& g) {
      const Tensor<float> dy = g.contiguous();
      Tensor<float> dx = Tensor<float>::empty(in.shape());
      const float* x_data = in.data();
      const float* dy_data = dy.data();
      float* dx_data = dx.data();
      // forward: out = x Phi(x);  d/dx = Phi(x) + x phi(x)
      parallel_for(in.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
        kernels::gelu_backward(x_data + begin, dy_data + begin, end - begin, dx_data + begin);
      });
      return std::vector<Tensor<float>>{dx};
    });
  } else {
    constexpr T kInvSqrt2 = T(0.70710678118654752440);
    Tensor<T> out = map_unary(x, [](T v) { return T(0.5) * v * (T(1) + std::erf(v * kInvSqrt2)); });
    return record_op<T>("gelu", out, {x}, [x](const Tensor<T>& g) {
      // forward: out = x Phi(x);  d/dx = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi)
      constexpr T kInvSqrt2Pi = T(0.39894228040143267794);
      return std::vector<Tensor<T>>{map_binary(g, x, "gelu_backward", [](T gv, T xv) {
        const T cdf = T(0.5) * (T(1) + std::erf(xv * kInvSqrt2));
        const T pdf = kInvSqrt2Pi * std::exp(T(-0.5) * xv * xv);
        return gv * (cdf + xv * pdf);
      })};
    });
  }
}

template <typename T>
Tensor<T> bias_gelu(const Tensor<T>& x, const Tensor<T>& bias) {
  ATTEND_CHECK(x.rank() >= 1 && bias.rank() == 1 && bias.size(0) == x.size(-1), ShapeError,
               "bias_gelu: bias {} must be (D) for x {} of last axis D", shape_string(bias.shape()),
               shape_string(x.shape()));
  if constexpr (std::is_same_v<T, float>) {  // one pass: gelu(x + bias) row by row (kernels/gelu.h)
    const int64_t d = x.size(-1), rows = d == 0 ? 0 : x.numel() / d;
    const Tensor<float> in = x.detach().contiguous(), b = bias.detach().contiguous();  // (rows, D), (D)
    Tensor<float> out = Tensor<float>::empty(x.shape());                               // (rows, D)
    const float* source = in.data();
    const float* row_bias = b.data();
    float* target = out.data();
    parallel_for(rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(d, 1)),
                 [&](int64_t begin, int64_t end) {
                   for (int64_t r = begin; r < end; ++r)
                     kernels::gelu_forward_bias(source + r * d, row_bias, d, target + r * d);
                 });
    return record_op<float>("bias_gelu", out, {x, bias}, [in, b, rows, d](const Tensor<float>& g) {
      const Tensor<float> dy = g.contiguous();
      Tensor<float> dx = Tensor<float>::empty(in.shape());
      const float* x_data = in.data();
      const float* dy_data = dy.data();
      const float* row_bias = b.data();
      float* dx_data = dx.data();
      // forward: out = u Phi(u), u = x + bias;  du = g (Phi(u) + u phi(u));  dx = du, dbias = sum over rows of du
      parallel_for(rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(d, 1)),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t r = begin; r < end; ++r) {
                       kernels::gelu_backward_bias(x_data + r * d, row_bias, dy_data + r * d, d, dx_data + r * d);
                     }
                   });
      return std::vector<Tensor<float>>{dx, sum_to(dx, b.shape())};
    });
  } else {
    return gelu(add(x, bias));  // u = x + bias, then gelu(u): the float path's arithmetic
  }
}

#define ATTEND_INSTANTIATE(T)                                       \
  template Tensor<T> add(const Tensor<T>&, const Tensor<T>&);       \
  template Tensor<T> bias_gelu(const Tensor<T>&, const Tensor<T>&); \
  template Tensor<T> sub(const Tensor<T>&, const Tensor<T>&);       \
  template Tensor<T> mul(const Tensor<T>&, const Tensor<T>&);       \
  template Tensor<T> div(const Tensor<T>&, const Tensor<T>&);       \
  template Tensor<T> add_scalar(const Tensor<T>&, T);               \
  template Tensor<T> mul_scalar(const Tensor<T>&, T);               \
  template Tensor<T> neg(const Tensor<T>&);                         \
  template Tensor<T> square(const Tensor<T>&);                      \
  template Tensor<T> sqrt(const Tensor<T>&);                        \
  template Tensor<T> exp(const Tensor<T>&);                         \
  template Tensor<T> log(const Tensor<T>&);                         \
  template Tensor<T> tanh(const Tensor<T>&);                        \
  template Tensor<T> sigmoid(const Tensor<T>&);                     \
  template Tensor<T> relu(const Tensor<T>&);                        \
  template Tensor<T> gelu(const Tensor<T>&);
ATTEND_INSTANTIATE(float)
ATTEND_INSTANTIATE(double)
#undef ATTEND_INSTANTIATE

}  // namespace attend
