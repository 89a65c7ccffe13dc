// Compiled once per SIMD target by Highway's foreach_target; quantize_rows dispatches at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/quantized_activations.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>
#include <cmath>

#include "kernels/quantized_activations.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {

// x's blocks of 32 to int8 codes (quantized_activations.h): the block's max |x| and a finiteness
// probe (0 * x is NaN exactly when x is NaN or infinite), then x * (1 / s) rounded to even.
// Every lane computes what the scalar form would: the same bits on every target.
void QuantizeBlocks(const float* HWY_RESTRICT x, int64_t count, int8_t* HWY_RESTRICT codes, float* HWY_RESTRICT scales,
                    int32_t* HWY_RESTRICT sums, float* HWY_RESTRICT scaled_sums) {
  namespace hn = hwy::HWY_NAMESPACE;
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<int8_t, decltype(df)> d8;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));  // divides 32
  for (int64_t block = 0; block < count; ++block) {
    const float* v = x + block * kQuantBlock;
    auto max = hn::Zero(df), probe = hn::Zero(df);
    for (int64_t i = 0; i < kQuantBlock; i += lanes) {
      const auto value = hn::LoadU(df, v + i);
      max = hn::Max(max, hn::Abs(value));
      probe = hn::Add(probe, hn::Mul(hn::Zero(df), value));
    }
    const bool finite = !std::isnan(hn::GetLane(hn::SumOfLanes(df, probe)));
    if (!finite) {  // NaN or infinity: the block's products are NaN through its scale; codes 0
      std::fill_n(codes + block * kQuantBlock, kQuantBlock, int8_t{0});
      scales[block] = NAN, sums[block] = 0, scaled_sums[block] = NAN;
      continue;
    }
    const float scale = hn::GetLane(hn::MaxOfLanes(df, max)) / 127.0f;
    const float inverse = scale != 0.0f ? 1.0f / scale : 0.0f;
    auto sum = hn::Zero(di);
    for (int64_t i = 0; i < kQuantBlock; i += lanes) {
      const auto q = hn::NearestInt(hn::Mul(hn::LoadU(df, v + i), hn::Set(df, inverse)));
      sum = hn::Add(sum, q);
      hn::StoreU(hn::DemoteTo(d8, q), d8, codes + block * kQuantBlock + i);
    }
    const int32_t total = hn::GetLane(hn::SumOfLanes(di, sum));
    scales[block] = scale;
    sums[block] = total;
    scaled_sums[block] = scale * static_cast<float>(total);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(QuantizeBlocks);

void quantize_rows(const float* x, int64_t rows, int64_t blocks, int8_t* codes, float* scales, int32_t* sums,
                   float* scaled_sums) {
  HWY_DYNAMIC_DISPATCH(QuantizeBlocks)(x, rows * blocks, codes, scales, sums, scaled_sums);
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
