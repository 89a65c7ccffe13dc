// Compiled once per SIMD target by Highway's foreach_target; dropout_multiply dispatches at run
// time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/dropout.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>
#include <array>

#include "kernels/dropout.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// out[e] = in[e] * (draws[e] >> 8 >= threshold ? kept_scale : 0) and, unless keep is null,
// keep[e] = 1 where kept, 0 where dropped, e < n.
void MultiplyByKept(const uint32_t* HWY_RESTRICT draws, int64_t n, uint32_t threshold, float kept_scale,
                    const float* in, float* out, uint8_t* HWY_RESTRICT keep) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::RebindToUnsigned<decltype(df)> du;
  const hn::Rebind<uint8_t, decltype(df)> d8;  // one byte per float lane
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  // draw >> 8 < 2^24 and threshold <= 2^24 fit int32: kept <=> (draw >> 8) > threshold - 1.
  const auto below = hn::Set(di, static_cast<int32_t>(threshold) - 1);
  const auto scale = hn::Set(df, kept_scale);
  const auto one = hn::Set(di, 1);
  int64_t e = 0;
  for (; e + lanes <= n; e += lanes) {
    const auto top24 = hn::BitCast(di, hn::ShiftRight<8>(hn::LoadU(du, draws + e)));  // logical shift
    const auto kept_i = hn::Gt(top24, below);
    hn::StoreU(hn::Mul(hn::LoadU(df, in + e), hn::IfThenElseZero(hn::RebindMask(df, kept_i), scale)), df, out + e);
    if (keep != nullptr) hn::StoreU(hn::DemoteTo(d8, hn::IfThenElseZero(kept_i, one)), d8, keep + e);
  }
  for (; e < n; ++e) {
    const bool kept = (draws[e] >> 8) >= threshold;
    out[e] = in[e] * (kept ? kept_scale : 0.0f);
    if (keep != nullptr) keep[e] = kept ? 1 : 0;
  }
}

// out[e] = in[e] * (keep[e] ? kept_scale : 0), e < n.
void MultiplyByKeepBytes(const uint8_t* HWY_RESTRICT keep, int64_t n, float kept_scale, const float* in, float* out) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<uint8_t, decltype(df)> d8;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(df));
  const auto scale = hn::Set(df, kept_scale);
  const auto zero = hn::Zero(di);
  int64_t e = 0;
  for (; e + lanes <= n; e += lanes) {
    const auto kept = hn::RebindMask(df, hn::Ne(hn::PromoteTo(di, hn::LoadU(d8, keep + e)), zero));
    hn::StoreU(hn::Mul(hn::LoadU(df, in + e), hn::IfThenElseZero(kept, scale)), df, out + e);
  }
  for (; e < n; ++e) out[e] = in[e] * (keep[e] ? kept_scale : 0.0f);
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(MultiplyByKept);
HWY_EXPORT(MultiplyByKeepBytes);

void dropout_multiply(uint64_t key, uint64_t counter_high, uint64_t first, int64_t n, double p, float kept_scale,
                      const float* in, float* out, uint8_t* keep) {
  // Draws a batch at a time into the stack, then one vectorized pass over the batch.
  constexpr int64_t kBatch = 1024;
  HWY_ALIGN std::array<uint32_t, kBatch> draws;
  const uint32_t threshold = dropout_keep_threshold(p);
  for (int64_t e0 = 0; e0 < n; e0 += kBatch) {
    const int64_t count = std::min(kBatch, n - e0);
    philox_draws(key, counter_high, first + static_cast<uint64_t>(e0), count, draws.data());
    HWY_DYNAMIC_DISPATCH(MultiplyByKept)
    (draws.data(), count, threshold, kept_scale, in + e0, out + e0, keep != nullptr ? keep + e0 : nullptr);
  }
}

void multiply_by_keep_bytes(const uint8_t* keep, int64_t n, float kept_scale, const float* in, float* out) {
  HWY_DYNAMIC_DISPATCH(MultiplyByKeepBytes)(keep, n, kept_scale, in, out);
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
