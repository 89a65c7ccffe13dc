// The key/value cache of one sequence: for every layer, K and V of every position so far,
// (H_kv, capacity, D), written in place as positions arrive. Growing past the capacity
// reallocates once to double it (amortized O(1) a token, never a copy per token); the
// capacity never exceeds the model's context.
#pragma once

#include <cstdint>
#include <vector>

#include "attend/core/tensor.h"
#include "attend/decoder/llama_config.h"

namespace attend::decoder {

class KvCache {
 public:
  // Room for `capacity` positions at first (at least 1, at most the context).
  KvCache(const LlamaConfig& config, int64_t capacity = 256);

  int64_t length() const { return length_; }      // positions held
  int64_t capacity() const { return capacity_; }  // positions that fit without growing
  int64_t context() const { return context_; }    // the most positions it may ever hold

  // Makes room for `count` more positions; ValueError when length + count exceeds the context.
  void reserve_more(int64_t count);
  // Keys and values of `layer`, (H_kv, capacity, D); rows at and past length() are scratch.
  float* keys(int64_t layer) { return keys_[layer].data(); }
  float* values(int64_t layer) { return values_[layer].data(); }
  const float* keys(int64_t layer) const { return keys_[layer].data(); }
  const float* values(int64_t layer) const { return values_[layer].data(); }
  // Marks `count` positions written (after every layer wrote them).
  void advance(int64_t count);
  // Forgets every position at and after `length` (a new turn that rewrites the tail).
  void truncate(int64_t length);

 private:
  void grow(int64_t capacity);
  int64_t layers_, kv_heads_, head_dim_, context_;
  int64_t capacity_ = 0, length_ = 0;
  std::vector<Tensor<float>> keys_, values_;  // per layer, (H_kv, capacity, D)
};

}  // namespace attend::decoder
