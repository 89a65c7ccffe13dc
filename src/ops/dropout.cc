#include "attend/ops/dropout.h"

#include <algorithm>
#include <array>
#include <memory>
#include <type_traits>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/core/random.h"
#include "kernels/dropout.h"
#include "kernels/philox.h"

namespace attend {
namespace {

// Elements per Philox batch: the draws of one batch sit on the stack.
constexpr int64_t kDrawBatch = 2048;

// Elements per task of the float multiplies.
constexpr int64_t kMultiplyGrain = 8192;

template <typename T>
Tensor<T> apply_keep_mask(const Tensor<T>& x, std::shared_ptr<const std::vector<uint8_t>> keep, T kept_scale);

// Records out = dropout(x) with its keep mask: the op is linear and its own adjoint, so the
// backward applies the same mask and scale to the gradient.
template <typename T>
Tensor<T> record_dropout(const Tensor<T>& out, const Tensor<T>& x, std::shared_ptr<const std::vector<uint8_t>> keep,
                         T kept_scale) {
  return record_op<T>("dropout", out, {x}, [keep, kept_scale](const Tensor<T>& g) {
    // forward: out = x * scale  ->  grad_x = g * scale (the same mask and scale)
    return std::vector<Tensor<T>>{apply_keep_mask(g, keep, kept_scale)};
  });
}

// out[i] = x[i] * (keep[i] ? kept_scale : 0): a dropped NaN or infinity stays NaN (x * 0), as a
// mask multiplied in would leave it.
template <typename T>
Tensor<T> apply_keep_mask(const Tensor<T>& x, std::shared_ptr<const std::vector<uint8_t>> keep, T kept_scale) {
  const Tensor<T> in = x.detach().contiguous();
  Tensor<T> out = Tensor<T>::empty(x.shape());
  const T* source = in.data();
  T* target = out.data();
  const uint8_t* kept = keep->data();
  parallel_for(x.numel(), kMultiplyGrain, [&](int64_t begin, int64_t end) {
    if constexpr (std::is_same_v<T, float>) {
      kernels::multiply_by_keep_bytes(kept + begin, end - begin, kept_scale, source + begin, target + begin);
    } else {
      for (int64_t i = begin; i < end; ++i) target[i] = source[i] * (kept[i] ? kept_scale : T(0));
    }
  });
  return record_dropout(out, x, std::move(keep), kept_scale);
}

// Float dropout in one pass: draws, multiply and the mask recorded for the backward together
// (kernels/dropout.h).
Tensor<float> dropout_in_one_pass(const Tensor<float>& x, double p, uint64_t seed, float kept_scale) {
  const Tensor<float> in = x.detach().contiguous();
  Tensor<float> out = Tensor<float>::empty(x.shape());
  auto keep = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(x.numel()));
  const float* source = in.data();
  float* target = out.data();
  uint8_t* kept = keep->data();
  // Element i draws position i of stream 1 of the seed, whichever task it falls in.
  parallel_for(x.numel(), kMultiplyGrain, [&](int64_t begin, int64_t end) {
    kernels::dropout_multiply(seed, 1, static_cast<uint64_t>(begin), end - begin, p, kept_scale, source + begin,
                              target + begin, kept + begin);
  });
  return record_dropout<float>(out, x, std::move(keep), kept_scale);
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
  const T kept_scale = static_cast<T>(1.0 / (1.0 - p));
  if constexpr (std::is_same_v<T, float>) {
    return dropout_in_one_pass(x, p, seed, kept_scale);
  } else {
    auto keep = std::make_shared<const std::vector<uint8_t>>(dropout_keep_mask(x.numel(), p, seed));
    return apply_keep_mask(x, std::move(keep), kept_scale);
  }
}

template Tensor<float> dropout(const Tensor<float>&, double, uint64_t, bool);
template Tensor<double> dropout(const Tensor<double>&, double, uint64_t, bool);

}  // namespace attend
