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

#ifndef ATTEND_KERNELS_PHILOX_CHUNK
#define ATTEND_KERNELS_PHILOX_CHUNK
namespace attend::kernels {
// The blocks philox_draws asks of one PhiloxBlocks call at most: whole vectors of blocks on
// every target, as PhiloxBlocks fills its last vector whole.
constexpr int64_t kChunkBlocks = 256;
}  // namespace attend::kernels
#endif

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

#if HWY_TARGET != HWY_SCALAR  // one 64-bit lane cannot be viewed as 32-bit lanes: scalar below
// One vector of blocks' state: word w of block l in lane l of cw.
template <class V>
struct PhiloxState {
  V c0, c1, c2, c3;
};

// The state of the blocks first + l, l < lanes: counter (first + l, counter_high).
template <class D>
HWY_INLINE PhiloxState<hn::Vec<D>> PhiloxStart(D d, uint64_t first, hn::Vec<D> c2, hn::Vec<D> c3) {
  const auto counters = hn::Add(hn::Set(d, first), hn::Iota(d, 0));  // past 2^64: wraps, lanes never kept
  return {hn::And(counters, hn::Set(d, 0xFFFFFFFFull)), hn::ShiftRight<32>(counters), c2, c3};
}

// One round (above) on a vector of blocks; k0 and k1 are the round's key, broadcast.
template <class D>
HWY_INLINE void PhiloxRound(D d, hn::Vec<D> k0, hn::Vec<D> k1, PhiloxState<hn::Vec<D>>& s) {
  const hn::Repartition<uint32_t, D> d32;
  const auto low32 = hn::Set(d, 0xFFFFFFFFull);
  const auto p0 = hn::MulEven(hn::BitCast(d32, hn::Set(d, kM0)), hn::BitCast(d32, s.c0));  // M0 * c0, 64-bit
  const auto p1 = hn::MulEven(hn::BitCast(d32, hn::Set(d, kM1)), hn::BitCast(d32, s.c2));  // M1 * c2
  s.c0 = hn::Xor(hn::Xor(hn::ShiftRight<32>(p1), s.c1), k0);
  s.c2 = hn::Xor(hn::Xor(hn::ShiftRight<32>(p0), s.c3), k1);
  s.c1 = hn::And(p1, low32);
  s.c3 = hn::And(p0, low32);
}

// Block l's words (c0, c1, c2, c3)[l] to out[4 l ..], l < lanes: as 64-bit pairs (little endian:
// the low word first), (c0 | c1 << 32)[l] then (c2 | c3 << 32)[l].
template <class D>
HWY_INLINE void PhiloxStore(D d, const PhiloxState<hn::Vec<D>>& s, uint32_t* HWY_RESTRICT out) {
  hn::StoreInterleaved2(hn::Or(s.c0, hn::ShiftLeft<32>(s.c1)), hn::Or(s.c2, hn::ShiftLeft<32>(s.c3)), d,
                        reinterpret_cast<uint64_t*>(out));
}
#endif

// out[4 j + w] = word w of block first + j, for j < blocks; out has room for blocks rounded up
// to whole vectors. Four vectors of blocks go through the rounds together (one vector's rounds
// are a chain of dependent multiplies; four chains keep the multiplier busy), the rest one
// vector at a time.
void PhiloxBlocks(uint64_t key, uint64_t counter_high, uint64_t first, int64_t blocks, uint32_t* HWY_RESTRICT out) {
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<uint64_t> d;
  static_assert(kChunkBlocks % hn::MaxLanes(decltype(d)()) == 0, "a chunk is whole vectors of blocks");
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto c2 = hn::Set(d, counter_high & 0xFFFFFFFFull), c3 = hn::Set(d, counter_high >> 32);
  int64_t j = 0;
  for (; j + 4 * lanes <= blocks; j += 4 * lanes) {
    const uint64_t base = first + static_cast<uint64_t>(j);
    auto s0 = PhiloxStart(d, base, c2, c3), s1 = PhiloxStart(d, base + lanes, c2, c3);
    auto s2 = PhiloxStart(d, base + 2 * lanes, c2, c3), s3 = PhiloxStart(d, base + 3 * lanes, c2, c3);
    uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
    for (int round = 0; round < 10; ++round) {
      const auto k0v = hn::Set(d, k0), k1v = hn::Set(d, k1);
      PhiloxRound(d, k0v, k1v, s0);
      PhiloxRound(d, k0v, k1v, s1);
      PhiloxRound(d, k0v, k1v, s2);
      PhiloxRound(d, k0v, k1v, s3);
      k0 += kW0;
      k1 += kW1;
    }
    PhiloxStore(d, s0, out + 4 * j);
    PhiloxStore(d, s1, out + 4 * (j + lanes));
    PhiloxStore(d, s2, out + 4 * (j + 2 * lanes));
    PhiloxStore(d, s3, out + 4 * (j + 3 * lanes));
  }
  for (; j < blocks; j += lanes) {  // the rest a vector at a time, the last one whole
    auto s0 = PhiloxStart(d, first + static_cast<uint64_t>(j), c2, c3);
    uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
    for (int round = 0; round < 10; ++round) {
      PhiloxRound(d, hn::Set(d, k0), hn::Set(d, k1), s0);
      k0 += kW0;
      k1 += kW1;
    }
    PhiloxStore(d, s0, out + 4 * j);
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
  // Chunks of whole blocks into an aligned buffer, from the block holding position first; the
  // wanted words copied out. One pass of the vector loop covers a block cut by the start, the
  // whole blocks and a block cut by the end alike.
  HWY_ALIGN uint32_t words[4 * kChunkBlocks];
  uint64_t block = first / 4;
  int64_t skip = static_cast<int64_t>(first % 4), e = 0;
  while (e < n) {
    const int64_t blocks = std::min<int64_t>(kChunkBlocks, (skip + (n - e) + 3) / 4);
    HWY_DYNAMIC_DISPATCH(PhiloxBlocks)(key, counter_high, block, blocks, words);
    const int64_t count = std::min(4 * blocks - skip, n - e);
    std::memcpy(out + e, words + skip, static_cast<size_t>(count) * sizeof(uint32_t));
    e += count;
    block += static_cast<uint64_t>(blocks);
    skip = 0;
  }
}

}  // namespace attend::kernels
#endif  // HWY_ONCE
