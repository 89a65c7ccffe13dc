// Random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011), a counter-based generator from the Random123 library.
//
// A counter-based generator maps (key, counter) to 128 random bits with no hidden state, so the
// i-th draw is a pure function of (seed, i): a stream can be split across threads, or replayed
// in a backward pass (dropout), and stay bitwise identical. Generator wraps it with a running
// counter for sequential use: the same seed gives the same sequence on every machine.
#pragma once

#include <array>
#include <cstdint>

namespace attend {

// 128 random bits for (key, counter): Philox4x32-10.
std::array<uint32_t, 4> philox_4x32(uint64_t key, uint64_t counter_high, uint64_t counter_low);

// Uniform in [0, 1) with 24 random bits (exactly representable as float).
inline float uniform_float_from_bits(uint32_t bits) { return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f); }

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}

  uint64_t seed() const { return seed_; }
  uint32_t next_u32();
  uint64_t next_u64();
  // Uniform in [0, 1): 53 random bits.
  double uniform();
  // Standard normal by the Box-Muller transform (both values of a pair are used).
  double normal();
  // Uniform integer in [0, n); n >= 1.
  uint64_t uniform_int(uint64_t n);

  // The complete state (seed, counter, the current block and the spare normal), so that a
  // checkpoint can resume a stream exactly where it stopped.
  static constexpr int kStateWords = 9;
  using State = std::array<uint64_t, kStateWords>;
  State state() const;
  // Throws ValueError for a state no generator can be in (e.g. a block index above 4).
  void set_state(const State& state);

 private:
  uint64_t seed_;
  uint64_t counter_ = 0;
  std::array<uint32_t, 4> block_{};
  int used_in_block_ = 4;
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

}  // namespace attend
