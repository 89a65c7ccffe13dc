#include "attend/core/random.h"

#include <cstring>

#include <cmath>

#include <Random123/philox.h>

#include "attend/core/error.h"

namespace attend {

std::array<uint32_t, 4> philox_4x32(uint64_t key, uint64_t counter_high, uint64_t counter_low) {
  using Philox = r123::Philox4x32;
  const Philox::key_type k = {{static_cast<uint32_t>(key), static_cast<uint32_t>(key >> 32)}};
  const Philox::ctr_type c = {{static_cast<uint32_t>(counter_low), static_cast<uint32_t>(counter_low >> 32),
                               static_cast<uint32_t>(counter_high), static_cast<uint32_t>(counter_high >> 32)}};
  const Philox::ctr_type r = Philox()(c, k);
  return {r[0], r[1], r[2], r[3]};
}

uint32_t Generator::next_u32() {
  if (used_in_block_ == 4) {
    block_ = philox_4x32(seed_, 0, counter_++);
    used_in_block_ = 0;
  }
  return block_[used_in_block_++];
}

uint64_t Generator::next_u64() {
  const uint64_t high = next_u32();
  return (high << 32) | next_u32();
}

double Generator::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Generator::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  // 1 - uniform() lies in (0, 1], so the logarithm is finite.
  const double radius = std::sqrt(-2.0 * std::log(1.0 - uniform()));
  const double angle = 2.0 * M_PI * uniform();
  spare_normal_ = radius * std::sin(angle);
  has_spare_normal_ = true;
  return radius * std::cos(angle);
}

uint64_t Generator::uniform_int(uint64_t n) {
  ATTEND_CHECK(n >= 1, ValueError, "uniform_int: n must be at least 1, got {}", n);
  // Rejection sampling removes the modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t draw = next_u64();
  while (draw >= limit) draw = next_u64();
  return draw % n;
}

Generator::State Generator::state() const {
  uint64_t spare_bits = 0;
  std::memcpy(&spare_bits, &spare_normal_, sizeof spare_bits);
  return {seed_,
          counter_,
          block_[0],
          block_[1],
          block_[2],
          block_[3],
          static_cast<uint64_t>(used_in_block_),
          static_cast<uint64_t>(has_spare_normal_),
          spare_bits};
}

void Generator::set_state(const State& state) {
  ATTEND_CHECK(state[6] <= 4 && state[7] <= 1 && state[2] <= UINT32_MAX && state[3] <= UINT32_MAX &&
                   state[4] <= UINT32_MAX && state[5] <= UINT32_MAX,
               ValueError, "Generator::set_state: not a generator state (block index {}, spare flag {})", state[6],
               state[7]);
  seed_ = state[0];
  counter_ = state[1];
  for (int i = 0; i < 4; ++i) block_[i] = static_cast<uint32_t>(state[2 + i]);
  used_in_block_ = static_cast<int>(state[6]);
  has_spare_normal_ = state[7] != 0;
  std::memcpy(&spare_normal_, &state[8], sizeof spare_normal_);
}

}  // namespace attend
