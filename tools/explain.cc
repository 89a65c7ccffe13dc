#include "explain.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "attend/attend.h"
#include "attend/attention/positional.h"
#include "attend/attention/score_functions.h"

namespace attend::tools {
namespace {

using Json = nlohmann::json;

Json matrix_json(const Tensor64& t) {
  const Tensor64 m = t.rank() == 1 ? t.unsqueeze(0) : t;
  Json rows = Json::array();
  for (int64_t i = 0; i < m.size(0); ++i) {
    Json row = Json::array();
    for (int64_t j = 0; j < m.size(1); ++j) {
      const double v = m.at({i, j});
      // JSON has no infinity: masked scores are written as the string "-inf".
      row.push_back(std::isinf(v) ? Json(v < 0 ? "-inf" : "inf") : Json(v));
    }
    rows.push_back(row);
  }
  return rows;
}

// What the rows and columns of a step's matrix stand for: rows are "tokens" (one per query),
// "keys" (one per key: K, V and their heads) or "features" (parameters); columns are "tokens"
// (one per key: scores and weights) or "features".
struct Steps {
  Json list = Json::array();
  void add(const std::string& name, const std::string& description, const Tensor64& value) {
    const bool scores = name.find("scores") != std::string::npos || name.rfind("weights", 0) == 0;
    const bool parameter = name.rfind("W_", 0) == 0 || name == "v_a";
    const bool key_rows = name == "K" || name == "V" || name.rfind("K (", 0) == 0 || name.rfind("V (", 0) == 0;
    list.push_back({{"name", name},
                    {"description", description},
                    {"shape", value.shape()},
                    {"rows", parameter  ? "features"
                             : key_rows ? "keys"
                                        : "tokens"},
                    {"columns", scores ? "tokens" : "features"},
                    {"values", matrix_json(value)}});
  }
};

// Weights rounded to one decimal so that a reader can redo the arithmetic by hand.
Tensor64 readable_weights(const Shape& shape, Generator& generator) {
  Tensor64 w = Tensor64::uniform(shape, -1.0, 1.0, generator);
  // "+ 0.0" turns -0.0 into 0.0 for display.
  for (int64_t i = 0; i < w.numel(); ++i) w.data()[i] = std::round(w.data()[i] * 10) / 10 + 0.0;
  return w;
}

// (rows, columns) of parsed numbers; every row has as many values (parse_matrix checked it).
Tensor64 to_tensor(const Matrix& rows) {
  const int64_t n = static_cast<int64_t>(rows.size()), d = static_cast<int64_t>(rows[0].size());
  Tensor64 t = Tensor64::empty({n, d});  // (n, d)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) t.data()[i * d + j] = rows[i][j];
  return t;
}

// Query i may look at key j <= i (top-left aligned when there are more keys than queries).
MaskTensor causal_blocked(int64_t queries, int64_t keys) {
  MaskTensor blocked = MaskTensor::zeros({queries, keys});
  for (int64_t i = 0; i < queries; ++i)
    for (int64_t j = i + 1; j < keys; ++j) blocked.data()[i * keys + j] = 1;
  return blocked;
}

// Everything a run needs, given or drawn: X and the projections, or Q, K and V directly.
struct Problem {
  std::vector<std::string> tokens, key_tokens;    // N query labels, M key labels
  Tensor64 x;                                     // (N, d_model); empty when Q, K, V are given
  Tensor64 q, k, v;                               // given (N, d_k), (M, d_k), (M, d_v); else empty
  Tensor64 w_q, w_k, w_v;                         // (d_model, d_k), (d_model, d_k), (d_model, d_v); empty with Q, K, V
  Tensor64 w_o;                                   // (d_v, d_out)
  Tensor64 additive_wq, additive_wk, additive_v;  // (d_k, d_k), (d_k, d_k), (d_k)
  std::vector<std::string> given;                 // names of the matrices the user gave
  int64_t n = 0, m = 0, d_k = 0, d_v = 0;
  bool qkv = false;  // Q, K, V given
  bool given_qkv() const { return qkv; }
};

std::string shape_text(const Tensor64& t) { return fmt::format("{} x {}", t.size(0), t.size(1)); }

// Q, K, V given: checks that they fit together.
void take_queries_keys_values(const ExplainOptions& options, Problem& p) {
  ATTEND_CHECK(!options.queries.empty() && !options.keys.empty() && !options.values.empty(), ValueError,
               "--q, --k and --v go together: give all three (queries, keys and values)");
  ATTEND_CHECK(options.input.empty() && options.w_q.empty() && options.w_k.empty() && options.w_v.empty(), ValueError,
               "--q/--k/--v replace --input and --wq/--wk/--wv: give one or the other");
  ATTEND_CHECK(options.positional == "none", ValueError,
               "--positional adds positions to the input X; with --q/--k/--v there is no X");
  p.q = to_tensor(options.queries), p.k = to_tensor(options.keys), p.v = to_tensor(options.values);
  ATTEND_CHECK(p.q.size(1) == p.k.size(1), ValueError,
               "--q is {} and --k is {}: queries and keys need the same number of columns (d_k)", shape_text(p.q),
               shape_text(p.k));
  ATTEND_CHECK(p.k.size(0) == p.v.size(0), ValueError, "--k is {} and --v is {}: one value row per key row",
               shape_text(p.k), shape_text(p.v));
  p.given = {"Q", "K", "V"};
  p.qkv = true;
}

// X given (or the built-in example) and maybe W_Q, W_K, W_V: checks that they fit together.
void take_input_and_weights(const ExplainOptions& options, Problem& p) {
  p.x = to_tensor(options.input.empty() ? Matrix{{1, 0}, {0, 1}, {1, 1}} : options.input);
  const bool any = !options.w_q.empty() || !options.w_k.empty() || !options.w_v.empty();
  if (!any) return;
  ATTEND_CHECK(!options.w_q.empty() && !options.w_k.empty() && !options.w_v.empty(), ValueError,
               "--wq, --wk and --wv go together: give all three (or none, to draw them from --seed)");
  p.w_q = to_tensor(options.w_q), p.w_k = to_tensor(options.w_k), p.w_v = to_tensor(options.w_v);
  for (const auto& [name, w] : {std::pair{"--wq", &p.w_q}, {"--wk", &p.w_k}, {"--wv", &p.w_v}}) {
    ATTEND_CHECK(w->size(0) == p.x.size(1), ValueError,
                 "{} is {} but the input X is {}: the weights need one row per input feature ({})", name,
                 shape_text(*w), shape_text(p.x), p.x.size(1));
  }
  ATTEND_CHECK(p.w_q.size(1) == p.w_k.size(1), ValueError,
               "--wq is {} and --wk is {}: queries and keys need the same number of columns (d_k)", shape_text(p.w_q),
               shape_text(p.w_k));
  p.given = {"W_Q", "W_K", "W_V"};
}

Problem make_problem(const ExplainOptions& options) {
  Problem p;
  const bool qkv = !options.queries.empty() || !options.keys.empty() || !options.values.empty();
  if (qkv) {
    take_queries_keys_values(options, p);
  } else {
    take_input_and_weights(options, p);
  }
  const int64_t d_model = qkv ? 0 : p.x.size(1);
  p.n = qkv ? p.q.size(0) : p.x.size(0);
  p.m = qkv ? p.k.size(0) : p.n;
  const bool given_weights = !qkv && !options.w_q.empty();
  p.d_k = qkv ? p.q.size(1) : given_weights ? p.w_q.size(1) : d_model;
  p.d_v = qkv ? p.v.size(1) : given_weights ? p.w_v.size(1) : d_model;
  // Labels: the example's words, else t0, t1, ... (keys k0, k1, ... when they are other tokens).
  p.tokens = options.tokens;
  if (p.tokens.empty() && options.input.empty() && !qkv) p.tokens = {"the", "cat", "sat"};
  if (p.tokens.empty()) {
    for (int64_t i = 0; i < p.n; ++i) p.tokens.push_back(fmt::format("t{}", i));
  }
  ATTEND_CHECK(static_cast<int64_t>(p.tokens.size()) == p.n, ValueError, "--tokens: {} labels for {} {} rows",
               p.tokens.size(), p.n, qkv ? "query" : "input");
  p.key_tokens = p.tokens;
  if (p.m != p.n) {
    p.key_tokens.clear();
    for (int64_t j = 0; j < p.m; ++j) p.key_tokens.push_back(fmt::format("k{}", j));
  }
  // What is not given is drawn, always in this order (the built-in example's numbers stay put).
  Generator generator(options.seed);
  if (!qkv && !given_weights) {
    p.w_q = readable_weights({d_model, p.d_k}, generator);
    p.w_k = readable_weights({d_model, p.d_k}, generator);
    p.w_v = readable_weights({d_model, p.d_v}, generator);
  }
  if (!options.w_o.empty()) {
    p.w_o = to_tensor(options.w_o);
    ATTEND_CHECK(p.w_o.size(0) == p.d_v, ValueError, "--wo is {}: it needs one row per value column (d_v = {})",
                 shape_text(p.w_o), p.d_v);
    p.given.push_back("W_O");
  } else {
    p.w_o = readable_weights({p.d_v, p.d_v}, generator);
  }
  p.additive_wq = readable_weights({p.d_k, p.d_k}, generator);
  p.additive_wk = readable_weights({p.d_k, p.d_k}, generator);
  p.additive_v = readable_weights({p.d_k}, generator);
  return p;
}

// Masking, softmax and the weighted sum, shared by every single-head mechanism.
Tensor64 finish(Steps& steps, Tensor64 scores, const Tensor64& v, bool causal) {
  if (causal) {
    scores = masked_fill(scores, causal_blocked(scores.size(0), scores.size(1)), -INFINITY);
    steps.add("masked scores", "causal mask: token i may not look at tokens after it (set to -inf)", scores);
  }
  const Tensor64 weights = softmax(scores, -1);
  steps.add("weights", "softmax over each row: every row sums to 1", weights);
  const Tensor64 output = matmul(weights, v);
  steps.add("output", "weights x V: each token's output is a weighted average of the value rows", output);
  return output;
}

// The inputs' steps of one run, then Q, K and V (given, or X times the weights).
void project(const Problem& p, const ExplainOptions& options, Steps& steps, Tensor64& q, Tensor64& k, Tensor64& v) {
  if (p.given_qkv()) {
    q = p.q, k = p.k, v = p.v;
    steps.add("Q", "the queries, as given", q);
    steps.add("K", "the keys, as given", k);
    steps.add("V", "the values, as given", v);
    return;
  }
  Tensor64 h = p.x;
  steps.add("X", "the input: one row per token", p.x);
  if (options.positional == "sinusoidal") {
    const Tensor64 pe = sinusoidal_positional_encoding<double>(p.n, p.x.size(1));
    steps.add("PE", "sinusoidal positions: PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...)", pe);
    h = add(p.x, pe);
    steps.add("X + PE", "the input with its positions added", h);
  }
  const bool given = !p.given.empty() && p.given.front() == "W_Q";
  steps.add("W_Q", given ? "query weights (as given)" : "query weights (drawn from the seed)", p.w_q);
  steps.add("W_K", "key weights", p.w_k);
  steps.add("W_V", "value weights", p.w_v);
  q = matmul(h, p.w_q), k = matmul(h, p.w_k), v = matmul(h, p.w_v);
  steps.add("Q", "queries: X W_Q", q);
  steps.add("K", "keys: X W_K", k);
  steps.add("V", "values: X W_V", v);
}

// Multi-head attention: each head takes its slice of Q, K and V's columns; W_O mixes the heads.
Tensor64 multi_head(const Problem& p, int64_t heads, bool causal, Steps& steps, const Tensor64& q, const Tensor64& k,
                    const Tensor64& v) {
  const int64_t head_k = p.d_k / heads, head_v = p.d_v / heads;
  std::vector<Tensor64> head_outputs;
  for (int64_t head = 0; head < heads; ++head) {
    const auto part = [&](const Tensor64& t, int64_t width) {
      return t.slice(1, head * width, (head + 1) * width).contiguous();
    };
    const std::string tag = fmt::format(" (head {})", head);
    steps.add("Q" + tag, fmt::format("columns {}..{} of Q", head * head_k, (head + 1) * head_k - 1), part(q, head_k));
    steps.add("K" + tag, "the same columns of K", part(k, head_k));
    steps.add("V" + tag, fmt::format("columns {}..{} of V", head * head_v, (head + 1) * head_v - 1), part(v, head_v));
    Tensor64 scores = mul_scalar(matmul(part(q, head_k), part(k, head_k).transpose(0, 1)),
                                 1 / std::sqrt(static_cast<double>(head_k)));
    steps.add("scaled scores" + tag, fmt::format("Q_h K_h^T / sqrt({})", head_k), scores);
    if (causal) {
      scores = masked_fill(scores, causal_blocked(p.n, p.m), -INFINITY);
      steps.add("masked scores" + tag, "causal mask (-inf above the diagonal)", scores);
    }
    const Tensor64 weights = softmax(scores, -1);
    steps.add("weights" + tag, "softmax over each row", weights);
    head_outputs.push_back(matmul(weights, part(v, head_v)));
    steps.add("output" + tag, "weights x V_h", head_outputs.back());
  }
  const Tensor64 merged = concat(head_outputs, 1);
  steps.add("concatenated heads", "the heads' outputs side by side", merged);
  steps.add("W_O", "output weights", p.w_o);
  const Tensor64 output = matmul(merged, p.w_o);
  steps.add("output", "concatenated heads x W_O", output);
  return output;
}

// The largest difference between `output` and the same numbers through the library's attention
// entry point (not for additive attention, which is not scaled dot-product).
double difference_from_library(const Problem& p, const std::string& mechanism, int64_t heads, bool causal,
                               const Tensor64& q, const Tensor64& k, const Tensor64& v, const Tensor64& output) {
  auto to_heads = [&](const Tensor64& t) {
    return t.reshape({1, t.size(0), heads, t.size(1) / heads}).transpose(1, 2);
  };
  AttentionOptions<double> attention;
  attention.causal = causal;
  if (mechanism == "dot") attention.scale = 1.0;
  Tensor64 reference = scaled_dot_product_attention(to_heads(q), to_heads(k), to_heads(v), attention)
                           .output.transpose(1, 2)
                           .reshape({p.n, p.d_v});
  if (mechanism == "multi-head") reference = matmul(reference, p.w_o);
  double difference = 0;
  const std::vector<double> expected = reference.to_vector(), got = output.to_vector();
  for (size_t i = 0; i < got.size(); ++i) difference = std::max(difference, std::abs(expected[i] - got[i]));
  return difference;
}

Json input_json(const Problem& p) {
  Json input = {{"tokens", p.tokens}, {"key_tokens", p.key_tokens}};
  if (p.given_qkv()) {
    input["Q"] = matrix_json(p.q), input["K"] = matrix_json(p.k), input["V"] = matrix_json(p.v);
  } else {
    input["X"] = matrix_json(p.x);
  }
  return input;
}

}  // namespace

Matrix parse_matrix(const std::string& text, const std::string& option) {
  Matrix rows;
  std::stringstream row_stream(text);
  std::string row_text;
  while (std::getline(row_stream, row_text, ';')) {
    std::vector<double> row;
    std::stringstream value_stream(row_text);
    std::string value_text;
    while (std::getline(value_stream, value_text, ',')) {
      size_t used = 0;
      double value = 0;
      try {
        value = std::stod(value_text, &used);
      } catch (const std::exception&) {
        fail("{}: '{}' is not a number (expected rows like '1,0;0,1;1,1')", option, value_text);
      }
      ATTEND_CHECK(value_text.find_first_not_of(" \t", used) == std::string::npos && std::isfinite(value), ValueError,
                   "{}: '{}' is not a finite number", option, value_text);
      row.push_back(value);
    }
    ATTEND_CHECK(!row.empty(), ValueError, "{}: row {} is empty", option, rows.size() + 1);
    ATTEND_CHECK(rows.empty() || row.size() == rows[0].size(), ValueError, "{}: row {} has {} values but row 1 has {}",
                 option, rows.size() + 1, row.size(), rows[0].size());
    rows.push_back(row);
  }
  ATTEND_CHECK(!rows.empty(), ValueError, "{} is empty (expected rows like '1,0;0,1;1,1')", option);
  ATTEND_CHECK(rows.size() <= 64 && rows[0].size() <= 64, ValueError, "{}: at most 64 rows of 64 values, got {} x {}",
               option, rows.size(), rows[0].size());
  return rows;
}

Json explain(const ExplainOptions& options) {
  ATTEND_CHECK(options.positional == "none" || options.positional == "sinusoidal", ValueError,
               "--positional must be 'none' or 'sinusoidal', got '{}'", options.positional);
  const Problem p = make_problem(options);
  const bool wants_multi_head =
      std::find(options.mechanisms.begin(), options.mechanisms.end(), "multi-head") != options.mechanisms.end();
  ATTEND_CHECK(!wants_multi_head || (options.heads >= 1 && p.d_k % options.heads == 0 && p.d_v % options.heads == 0),
               ValueError, "--heads: {} heads do not divide d_k = {} and d_v = {} (the columns of Q and V)",
               options.heads, p.d_k, p.d_v);
  ATTEND_CHECK(!options.causal || p.n == p.m, ValueError,
               "--causal needs as many queries as keys; there are {} queries and {} keys", p.n, p.m);

  Json result;
  result["input"] = input_json(p);
  result["weights"] = {{"seed", options.seed}, {"given", p.given}, {"W_O", matrix_json(p.w_o)}};
  if (!p.given_qkv()) {
    result["weights"]["W_Q"] = matrix_json(p.w_q);
    result["weights"]["W_K"] = matrix_json(p.w_k);
    result["weights"]["W_V"] = matrix_json(p.w_v);
  }
  result["runs"] = Json::array();
  // Cross-attention (M != N) has no causal run unless asked for, which the check above refused.
  const std::vector<bool> masks = options.causal                     ? std::vector<bool>{true}
                                  : options.both_masks && p.n == p.m ? std::vector<bool>{false, true}
                                                                     : std::vector<bool>{false};
  for (const std::string& mechanism : options.mechanisms) {
    ATTEND_CHECK(
        mechanism == "dot" || mechanism == "scaled-dot" || mechanism == "additive" || mechanism == "multi-head",
        ValueError, "--mechanism must be dot, scaled-dot, additive, multi-head or all; got '{}'", mechanism);
    for (bool causal : masks) {
      Steps steps;
      Tensor64 q, k, v;
      project(p, options, steps, q, k, v);
      Tensor64 output;
      if (mechanism == "dot" || mechanism == "scaled-dot") {
        Tensor64 scores = matmul(q, k.transpose(0, 1));
        steps.add("scores", "Q K^T: score[i, j] = q_i . k_j", scores);
        if (mechanism == "scaled-dot") {
          scores = mul_scalar(scores, 1 / std::sqrt(static_cast<double>(p.d_k)));
          steps.add("scaled scores", fmt::format("Q K^T / sqrt(d_k) with d_k = {}", p.d_k), scores);
        }
        output = finish(steps, scores, v, causal);
      } else if (mechanism == "additive") {
        steps.add("W_a (query)", "additive attention's query weight", p.additive_wq);
        steps.add("W_a (key)", "additive attention's key weight", p.additive_wk);
        steps.add("v_a", "additive attention's score vector", p.additive_v);
        const Tensor64 scores =
            additive_scores(q.unsqueeze(0), k.unsqueeze(0), p.additive_wq, p.additive_wk, p.additive_v).squeeze(0);
        steps.add("scores", "v_a^T tanh(q_i W_a(query) + k_j W_a(key)) (Bahdanau et al. 2015)", scores);
        output = finish(steps, scores, v, causal);
      } else {
        output = multi_head(p, options.heads, causal, steps, q, k, v);
      }
      const int64_t heads = mechanism == "multi-head" ? options.heads : 1;
      const double check =
          mechanism == "additive" ? 0.0 : difference_from_library(p, mechanism, heads, causal, q, k, v, output);
      result["runs"].push_back({{"mechanism", mechanism},
                                {"causal", causal},
                                {"positional", options.positional},
                                {"steps", steps.list},
                                {"max_difference_from_scaled_dot_product_attention", check}});
    }
  }
  return result;
}

std::string render_text(const Json& explanation) {
  std::string out;
  const auto& tokens = explanation["input"]["tokens"];
  const auto& key_tokens = explanation["input"]["key_tokens"];
  auto render_matrix = [&](const Json& step) {
    const auto& rows = step["values"];
    const Json* row_labels = step["rows"] == "tokens" ? &tokens : step["rows"] == "keys" ? &key_tokens : nullptr;
    std::string text;
    if (step["columns"] == "tokens") {
      text += fmt::format("  {:>8}", "");
      for (const auto& t : key_tokens) text += fmt::format(" {:>9}", t.get<std::string>());
      text += "\n";
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      const std::string label = row_labels != nullptr ? (*row_labels)[i].get<std::string>() : "";
      text += fmt::format("  {:>8}", label);
      for (const auto& v : rows[i]) {
        text += v.is_string() ? fmt::format(" {:>9}", v.get<std::string>()) : fmt::format(" {:>9.4f}", v.get<double>());
      }
      text += "\n";
    }
    return text;
  };
  const Json& given = explanation["weights"]["given"];
  if (given.empty()) {
    out += "Weights are drawn from seed " + explanation["weights"]["seed"].dump() + " and rounded to one decimal.\n";
  } else {
    std::string names;
    for (const auto& name : given) names += (names.empty() ? "" : ", ") + name.get<std::string>();
    out += fmt::format("{} as given; the other weights are drawn from seed {} and rounded to one decimal.\n", names,
                       explanation["weights"]["seed"].dump());
  }
  for (const auto& run : explanation["runs"]) {
    out += fmt::format("\n=== {} attention{}{} ===\n", run["mechanism"].get<std::string>(),
                       run["causal"].get<bool>() ? ", causal" : "",
                       run["positional"].get<std::string>() == "none" ? "" : ", sinusoidal positions");
    for (const auto& step : run["steps"]) {
      out += fmt::format("\n{} {}: {}\n", step["name"].get<std::string>(), step["shape"].dump(),
                         step["description"].get<std::string>());
      out += render_matrix(step);
    }
    if (run["mechanism"] != "additive") {
      out +=
          fmt::format("\ncheck: attend::scaled_dot_product_attention gives the same output (max difference {:.1e})\n",
                      run["max_difference_from_scaled_dot_product_attention"].get<double>());
    }
  }
  return out;
}

}  // namespace attend::tools
