// One score module per kind, for the tests of the score modules and of nn::ScoredAttention.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "attend/nn/score_modules.h"

namespace attend::testing {

// kind: "dot", "scaled_dot", "general", "additive" or "cosine" (the initial temperature). Drawn
// from a fresh Generator(seed), so that a harness case's float and double modules agree.
template <typename T>
std::shared_ptr<nn::ScoreFunction<T>> make_score_module(const std::string& kind, int64_t query_dim, int64_t key_dim,
                                                        int64_t attention_dim, double temperature, uint64_t seed) {
  Generator generator(seed);
  if (kind == "dot") return std::make_shared<nn::DotScore<T>>();
  if (kind == "scaled_dot") return std::make_shared<nn::ScaledDotScore<T>>();
  if (kind == "general") return std::make_shared<nn::GeneralScore<T>>(query_dim, key_dim, generator);
  if (kind == "additive") return std::make_shared<nn::AdditiveScore<T>>(query_dim, key_dim, attention_dim, generator);
  return std::make_shared<nn::CosineScore<T>>(temperature);
}

}  // namespace attend::testing
