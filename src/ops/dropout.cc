#include "attend/ops/dropout.h"

#include <algorithm>
#include <array>
#include <type_traits>

#include "attend/autograd/autograd.h"
#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/core/random.h"
#include "kernels/dropout.h"
#include "kernels/philox.h"

namespace attend {
namespace {

// Elements per Philox batch: the draws of one batch sit on the stack.
constexpr int64_t kDrawBatch = 2048;

// Elements per task: whole vectors of Philox draws and of the multiply.
constexpr int64_t kMultiplyGrain = 8192;

// out[i] = x[i] * (keep_i ? kept_scale : 0), keep_i drawn from position i of stream 1 of `seed`
// (kernels/dropout.h): a dropped NaN or infinity stays NaN (x * 0), as a mask multiplied in
// would leave it. The op is linear and its own adjoint, so the backward applies the same mask
// to the gradient, regenerating it from the seed rather than storing it.
template <typename T>
Tensor<T> multiply_by_kept(const Tensor<T>& x, double p, uint64_t seed, T kept_scale) {
  const Tensor<T> in = x.detach().contiguous();
  Tensor<T> out = Tensor<T>::empty(x.shape());
  const T* source = in.data();
  T* target = out.data();
  parallel_for(x.numel(), kMultiplyGrain, [&](int64_t begin, int64_t end) {
    if constexpr (std::is_same_v<T, float>) {
      kernels::dropout_multiply(seed, 1, static_cast<uint64_t>(begin), end - begin, p, kept_scale, source + begin,
                                target + begin);
    } else {
      std::array<uint32_t, kDrawBatch> draws;
      for (int64_t first = begin; first < end; first += kDrawBatch) {
        const int64_t count = std::min(kDrawBatch, end - first);
        kernels::philox_draws(seed, 1, static_cast<uint64_t>(first), count, draws.data());
        for (int64_t e = 0; e < count; ++e) {
          target[first + e] = source[first + e] * (kernels::dropout_keeps(draws[e], p) ? kept_scale : T(0));
        }
      }
    }
  });
  return record_op<T>("dropout", out, {x}, [p, seed, kept_scale](const Tensor<T>& g) {
    // forward: out = x * scale  ->  grad_x = g * scale (the same mask and scale)
    return std::vector<Tensor<T>>{multiply_by_kept(g, p, seed, kept_scale)};
  });
}

}  // namespace

std::vector<uint8_t> dropout_keep_mask(int64_t numel, double p, uint64_t seed) {
  std::vector<uint8_t> keep(static_cast<size_t>(numel));
  // Element i draws word i % 4 of Philox block i / 4 (stream 1 of the seed), whichever thread
  // and batch it falls in.
  const int64_t batches = (numel + kDrawBatch - 1) / kDrawBatch;
  parallel_for(batches, 1, [&](int64_t begin, int64_t end) {
    std::array<uint32_t, kDrawBatch> draws;
    for (int64_t batch = begin; batch < end; ++batch) {
      const int64_t first = batch * kDrawBatch, count = std::min(kDrawBatch, numel - first);
      kernels::philox_draws(seed, 1, static_cast<uint64_t>(first), count, draws.data());
      for (int64_t e = 0; e < count; ++e) keep[first + e] = kernels::dropout_keeps(draws[e], p);
    }
  });
  return keep;
}

template <typename T>
Tensor<T> dropout(const Tensor<T>& x, double p, uint64_t seed, bool training) {
  ATTEND_CHECK(p >= 0.0 && p < 1.0, ValueError, "dropout: p must be in [0, 1), got {}", p);
  if (!training || p == 0.0) return x;
  return multiply_by_kept(x, p, seed, static_cast<T>(1.0 / (1.0 - p)));
}

template Tensor<float> dropout(const Tensor<float>&, double, uint64_t, bool);
template Tensor<double> dropout(const Tensor<double>&, double, uint64_t, bool);

}  // namespace attend
