#include "attend/ops/dropout.h"

#include "attend/autograd/autograd.h"
#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/core/random.h"
#include "attend/ops/elementwise.h"

namespace attend {

std::vector<uint8_t> dropout_keep_mask(int64_t numel, double p, uint64_t seed) {
  std::vector<uint8_t> keep(static_cast<size_t>(numel));
  // Each Philox block yields four 32-bit draws: elements 4j..4j+3 use block j.
  const int64_t blocks = (numel + 3) / 4;
  parallel_for(blocks, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      const auto bits = philox_4x32(seed, 1, static_cast<uint64_t>(j));
      for (int lane = 0; lane < 4 && 4 * j + lane < numel; ++lane) {
        keep[4 * j + lane] = uniform_float_from_bits(bits[lane]) >= p;
      }
    }
  });
  return keep;
}

template <typename T>
Tensor<T> dropout(const Tensor<T>& x, double p, uint64_t seed, bool training) {
  ATTEND_CHECK(p >= 0.0 && p < 1.0, ValueError, "dropout: p must be in [0, 1), got {}", p);
  if (!training || p == 0.0) return x;
  const std::vector<uint8_t> keep = dropout_keep_mask(x.numel(), p, seed);
  Tensor<T> scale = Tensor<T>::empty(x.shape());  // 1/(1-p) where kept, 0 where dropped
  const T kept_scale = static_cast<T>(1.0 / (1.0 - p));
  T* scale_data = scale.data();
  parallel_for(x.numel(), 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) scale_data[i] = keep[i] ? kept_scale : T(0);
  });
  // forward: out = x * scale;  the gradient is masked and scaled the same way (through mul)
  return mul(x, scale);
}

template Tensor<float> dropout(const Tensor<float>&, double, uint64_t, bool);
template Tensor<double> dropout(const Tensor<double>&, double, uint64_t, bool);

}  // namespace attend
