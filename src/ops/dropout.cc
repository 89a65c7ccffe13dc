#include "attend/ops/dropout.h"

#include <algorithm>
#include <array>
#include <memory>

#include "attend/autograd/autograd.h"
#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/core/random.h"
#include "kernels/philox.h"

namespace attend {
namespace {

// Elements per Philox batch: the draws of one batch sit on the stack.
constexpr int64_t kDrawBatch = 2048;

// out[i] = x[i] * scale_i with scale_i = kept_scale where keep[i], else 0: a dropped NaN or
// infinity stays NaN (x * 0), as a mask multiplied in would leave it. The op is linear and its
// own adjoint, so the backward applies the same mask to the gradient.
template <typename T>
Tensor<T> apply_keep_mask(const Tensor<T>& x, std::shared_ptr<const std::vector<uint8_t>> keep, T kept_scale) {
  const Tensor<T> in = x.detach().contiguous();
  Tensor<T> out = Tensor<T>::empty(x.shape());
  const T* source = in.data();
  T* target = out.data();
  const uint8_t* kept = keep->data();
  parallel_for(x.numel(), 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) target[i] = source[i] * (kept[i] ? kept_scale : T(0));
  });
  return record_op<T>("dropout", out, {x}, [keep, kept_scale](const Tensor<T>& g) {
    // forward: out = x * scale  ->  grad_x = g * scale (the same mask and scale)
    return std::vector<Tensor<T>>{apply_keep_mask(g, keep, kept_scale)};
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
  auto keep = std::make_shared<const std::vector<uint8_t>>(dropout_keep_mask(x.numel(), p, seed));
  return apply_keep_mask(x, std::move(keep), static_cast<T>(1.0 / (1.0 - p)));
}

template Tensor<float> dropout(const Tensor<float>&, double, uint64_t, bool);
template Tensor<double> dropout(const Tensor<double>&, double, uint64_t, bool);

}  // namespace attend
