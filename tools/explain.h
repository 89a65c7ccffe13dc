// `attend explain`: every step of an attention computation on a small input, computed by the
// library (never typed in), as text or JSON.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace attend::tools {

using Matrix = std::vector<std::vector<double>>;  // rows of numbers, as parse_matrix reads them

struct ExplainOptions {
  Matrix input;                     // X: (N, d_model); empty: the built-in example (unless `queries` is given)
  std::vector<std::string> tokens;  // labels, one per row of X (or of Q)
  // Given weights instead of drawn ones (all of W_Q, W_K, W_V, or none): W_Q, W_K (d_model, d_k),
  // W_V (d_model, d_v); W_O (d_v, d_out) may be given alone, for multi-head attention.
  Matrix w_q, w_k, w_v, w_o;
  // Given queries, keys and values instead of X and weights (all three, or none): Q (N, d_k),
  // K (M, d_k), V (M, d_v). M may differ from N (cross-attention; then no causal run).
  Matrix queries, keys, values;
  std::vector<std::string> mechanisms = {"dot", "scaled-dot", "additive", "multi-head"};
  bool causal = false;              // only the masked variant
  bool both_masks = true;           // unmasked and causal
  std::string positional = "none";  // "none" or "sinusoidal"
  int64_t heads = 2;                // for multi-head
  uint64_t seed = 0;                // weights that are not given are drawn from this seed
};

// Parses "1,0;0,1;1,1" (rows by ';', values by ','); throws attend::ValueError naming `option` on
// bad text.
Matrix parse_matrix(const std::string& text, const std::string& option = "--input");

// Runs every requested mechanism; the JSON has "input" (tokens, key_tokens, X or Q/K/V), "weights"
// (each with where it came from) and one entry per run under "runs", each with its ordered
// "steps" {name, description, shape, rows, columns, values}; "rows" is "tokens" (queries), "keys"
// or "features", "columns" is "tokens" (keys) or "features".
nlohmann::json explain(const ExplainOptions& options);

// Human-readable rendering of explain()'s JSON.
std::string render_text(const nlohmann::json& explanation);

}  // namespace attend::tools
