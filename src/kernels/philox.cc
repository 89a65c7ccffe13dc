// Compiled once per SIMD target by Highway's foreach_target; philox_draws dispatches at run time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/philox.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "attend/core/error.h"
#include "attend/core/random.h"
#include "kernels/philox.h"

HWY_BEFORE_NAMESPACE();
namespace attend::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Philox4x32-10 over a counter c = (c0, c1, c2, c3) and key k = (k0, k1):
//   10 times:  (hi0, lo0) = M0 * c0,  (hi1, lo1) = M1 * c2        (32 x 32 -> 64-bit products)
//              c = (hi1 ^ c1 ^ k0,  lo1,  hi0 ^ c3 ^ k1,  lo0)
//              k = (k0 + W0, k1 + W1)                            (mod 2^32, after each round)
// Vectorized across blocks: each 64-bit lane holds one block's 32-bit word, so that MulEven
// (the product of the low halves) is the full 64-bit product.
static_assert(std::endian::native == std::endian::little, "PhiloxBlocks stores 64-bit word pairs low word first");
constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;

// out[4 j + w] = word w of block first + j, for j < blocks. Whole vectors of blocks; the last,
// partial vector is computed whole and only its first blocks copied, so that short ranges (the
// rows of a small attention) stay vectorized too.
void PhiloxBlocks(uint64_t key, uint64_t counter_high, uint64_t first, int64_t blocks, uint32_t* HWY_RESTRICT out) {
#if HWY_TARGET != HWY_SCALAR  // one 64-bit lane cannot be viewed as 32-bit lanes: scalar below
  const hn::ScalableTag<uint64_t> d;
  const hn::Repartition<uint32_t, decltype(d)> d32;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto low32 = hn::Set(d, 0xFFFFFFFFull);
  const auto m0 = hn::BitCast(d32, hn::Set(d, kM0)), m1 = hn::BitCast(d32, hn::Set(d, kM1));
  const auto c2_init = hn::Set(d, counter_high & 0xFFFFFFFFull), c3_init = hn::Set(d, counter_high >> 32);
  HWY_ALIGN uint64_t interleaved[2 * hn::MaxLanes(d)];
  for (int64_t j = 0; j < blocks; j += lanes) {
    // Counters past the last block (and past 2^64, wrapping) only fill lanes never copied.
    const auto counters = hn::Add(hn::Set(d, first + static_cast<uint64_t>(j)), hn::Iota(d, 0));
    auto c0 = hn::And(counters, low32), c1 = hn::ShiftRight<32>(counters), c2 = c2_init, c3 = c3_init;
    uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
    for (int round = 0; round < 10; ++round) {
      const auto p0 = hn::MulEven(m0, hn::BitCast(d32, c0));  // M0 * c0, 64-bit
      const auto p1 = hn::MulEven(m1, hn::BitCast(d32, c2));  // M1 * c2
      const auto n0 = hn::Xor(hn::Xor(hn::ShiftRight<32>(p1), c1), hn::Set(d, k0));
      const auto n2 = hn::Xor(hn::Xor(hn::ShiftRight<32>(p0), c3), hn::Set(d, k1));
      c1 = hn::And(p1, low32);
      c3 = hn::And(p0, low32);
      c0 = n0;
      c2 = n2;
      k0 += kW0;
      k1 += kW1;
    }
    // Block l's words (c0, c1, c2, c3)[l] go to out[4 (j + l) ..]: as 64-bit pairs (little
    // endian: the low word first), (c0 | c1 << 32)[l] then (c2 | c3 << 32)[l].
    const auto words01 = hn::Or(c0, hn::ShiftLeft<32>(c1));
    const auto words23 = hn::Or(c2, hn::ShiftLeft<32>(c3));
    hn::StoreInterleaved2(words01, words23, d, interleaved);
    const int64_t count = std::min(lanes, blocks - j);
    std::memcpy(out + 4 * j, interleaved, static_cast<size_t>(count) * 4 * sizeof(uint32_t));
  }
#else
  for (int64_t j = 0; j < blocks; ++j) {
    const std::array<uint32_t, 4> block = philox_4x32(key, counter_high, first + static_cast<uint64_t>(j));
    std::copy(block.begin(), block.end(), out + 4 * j);
  }
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace attend::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace attend::kernels {

HWY_EXPORT(PhiloxBlocks);

void philox_draws(uint64_t key, uint64_t counter_high, uint64_t first, int64_t n, uint32_t* out) {
  if (n <= 0) return;
  ATTEND_CHECK(static_cast<uint64_t>(n) - 1 <= UINT64_MAX - first, ValueError,
               "philox_draws: positions {} + {} run past the end of the stream", first, n);
  // A block cut by the start, then whole blocks straight into out, then a block cut by the end.
  // Counting draws (e), not positions, so that the last position of the stream ends the loop.
  int64_t e = 0;
  uint32_t words[4];
  if (first % 4 != 0) {
    HWY_DYNAMIC_DISPATCH(PhiloxBlocks)(key, counter_high, first / 4, 1, words);
    for (uint64_t w = first % 4; w < 4 && e < n; ++w) out[e++] = words[w];
  }
  const int64_t whole = (n - e) / 4;
  if (whole > 0) {
    HWY_DYNAMIC_DISPATCH(PhiloxBlocks)(key, counter_high, (first + static_cast<uint64_t>(e)) / 4, whole, out + e);
    e += 4 * whole;
  }
  if (e < n) {
    HWY_DYNAMIC_DISPATCH(PhiloxBlocks)(key, counter_high, (first + static_cast<uint64_t>(e)) / 4, 1, words);
    for (int w = 0; e < n; ++w) out[e++] = words[w];
  }
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
