// `attend explain`: every step of an attention computation on a small input, computed by the
// library (never typed in), as text or JSON.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace attend::tools {

struct ExplainOptions {
  std::vector<std::vector<double>> input;  // X: tokens x features; empty for the built-in example
  std::vector<std::string> tokens;         // labels, one per row of X
  std::vector<std::string> mechanisms = {"dot", "scaled-dot", "additive", "multi-head"};
  bool causal = false;              // only the masked variant
  bool both_masks = true;           // unmasked and causal
  std::string positional = "none";  // "none" or "sinusoidal"
  int64_t heads = 2;                // for multi-head
  uint64_t seed = 0;                // weights are drawn from this seed
};

// Parses "1,0;0,1;1,1" (rows by ';', values by ','); throws attend::ValueError on bad text.
std::vector<std::vector<double>> parse_matrix(const std::string& text);

// Runs every requested mechanism; the JSON has "input", "weights" and one entry per run under
// "runs", each with its ordered "steps" {name, description, shape, values}.
nlohmann::json explain(const ExplainOptions& options);

// Human-readable rendering of explain()'s JSON.
std::string render_text(const nlohmann::json& explanation);

}  // namespace attend::tools
