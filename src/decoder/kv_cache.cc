#include "attend/decoder/kv_cache.h"

#include <algorithm>
#include <cstring>

namespace attend::decoder {

KvCache::KvCache(const LlamaConfig& config, int64_t capacity)
    : layers_(config.layers), kv_heads_(config.kv_heads), head_dim_(config.head_dim), context_(config.context_length) {
  ATTEND_CHECK(capacity >= 1, ValueError, "KvCache: capacity must be positive, got {}", capacity);
  grow(std::min(capacity, context_));
}

void KvCache::grow(int64_t capacity) {
  std::vector<Tensor<float>> keys, values;
  for (int64_t layer = 0; layer < layers_; ++layer) {
    keys.push_back(Tensor<float>::empty({kv_heads_, capacity, head_dim_}));
    values.push_back(Tensor<float>::empty({kv_heads_, capacity, head_dim_}));
    if (length_ == 0) continue;
    for (int64_t h = 0; h < kv_heads_; ++h) {  // the positions held, head by head
      const size_t bytes = static_cast<size_t>(length_ * head_dim_) * sizeof(float);
      std::memcpy(keys.back().data() + h * capacity * head_dim_, keys_[layer].data() + h * capacity_ * head_dim_,
                  bytes);
      std::memcpy(values.back().data() + h * capacity * head_dim_, values_[layer].data() + h * capacity_ * head_dim_,
                  bytes);
    }
  }
  keys_ = std::move(keys);
  values_ = std::move(values);
  capacity_ = capacity;
}

void KvCache::reserve_more(int64_t count) {
  ATTEND_CHECK(count >= 0, ValueError, "KvCache: cannot reserve {} positions", count);
  ATTEND_CHECK(length_ + count <= context_, ValueError,
               "the context is full: {} positions held and {} more exceed the model's context of {}", length_, count,
               context_);
  if (length_ + count > capacity_) grow(std::min(context_, std::max(length_ + count, 2 * capacity_)));
}

void KvCache::advance(int64_t count) {
  ATTEND_CHECK(count >= 0 && length_ + count <= capacity_, ValueError, "KvCache: cannot advance {} past {} of {}",
               count, length_, capacity_);
  length_ += count;
}

void KvCache::truncate(int64_t length) {
  ATTEND_CHECK(length >= 0 && length <= length_, ValueError, "KvCache: cannot truncate {} positions to {}", length_,
               length);
  length_ = length;
}

}  // namespace attend::decoder
