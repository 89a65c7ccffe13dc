#include "explain.h"

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

// What the rows and columns of a step's matrix stand for: "tokens" or "features".
struct Steps {
  Json list = Json::array();
  void add(const std::string& name, const std::string& description, const Tensor64& value) {
    const bool scores = name.find("scores") != std::string::npos || name.rfind("weights", 0) == 0;
    const bool parameter = name.rfind("W_", 0) == 0 || name == "v_a";
    list.push_back({{"name", name},
                    {"description", description},
                    {"shape", value.shape()},
                    {"rows", parameter ? "features" : "tokens"},
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

MaskTensor causal_blocked(int64_t n) {
  MaskTensor blocked = MaskTensor::zeros({n, n});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) blocked.data()[i * n + j] = 1;
  return blocked;
}

// Masking, softmax and the weighted sum, shared by every single-head mechanism.
Tensor64 finish(Steps& steps, Tensor64 scores, const Tensor64& v, bool causal) {
  if (causal) {
    scores = masked_fill(scores, causal_blocked(scores.size(0)), -INFINITY);
    steps.add("masked scores", "causal mask: token i may not look at tokens after it (set to -inf)", scores);
  }
  const Tensor64 weights = softmax(scores, -1);
  steps.add("weights", "softmax over each row: every row sums to 1", weights);
  const Tensor64 output = matmul(weights, v);
  steps.add("output", "weights x V: each token's output is a weighted average of the value rows", output);
  return output;
}

}  // namespace

std::vector<std::vector<double>> parse_matrix(const std::string& text) {
  std::vector<std::vector<double>> rows;
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
        fail("--input: '{}' is not a number (expected rows like '1,0;0,1;1,1')", value_text);
      }
      ATTEND_CHECK(value_text.find_first_not_of(" \t", used) == std::string::npos && std::isfinite(value), ValueError,
                   "--input: '{}' is not a finite number", value_text);
      row.push_back(value);
    }
    ATTEND_CHECK(!row.empty(), ValueError, "--input: row {} is empty", rows.size() + 1);
    ATTEND_CHECK(rows.empty() || row.size() == rows[0].size(), ValueError,
                 "--input: row {} has {} values but row 1 has {}", rows.size() + 1, row.size(), rows[0].size());
    rows.push_back(row);
  }
  ATTEND_CHECK(!rows.empty(), ValueError, "--input is empty (expected rows like '1,0;0,1;1,1')");
  ATTEND_CHECK(rows.size() <= 64 && rows[0].size() <= 64, ValueError,
               "--input: at most 64 tokens of 64 features, got {} x {}", rows.size(), rows[0].size());
  return rows;
}

Json explain(const ExplainOptions& options) {
  std::vector<std::vector<double>> input = options.input;
  std::vector<std::string> tokens = options.tokens;
  if (input.empty()) {
    input = {{1, 0}, {0, 1}, {1, 1}};
    if (tokens.empty()) tokens = {"the", "cat", "sat"};
  }
  const int64_t n = static_cast<int64_t>(input.size());
  const int64_t d = static_cast<int64_t>(input[0].size());
  if (tokens.empty()) {
    for (int64_t i = 0; i < n; ++i) tokens.push_back(fmt::format("t{}", i));
  }
  ATTEND_CHECK(static_cast<int64_t>(tokens.size()) == n, ValueError, "--tokens: {} labels for {} input rows",
               tokens.size(), n);
  ATTEND_CHECK(options.heads >= 1 && d % options.heads == 0, ValueError,
               "--heads: {} heads do not divide the {} input features", options.heads, d);
  ATTEND_CHECK(options.positional == "none" || options.positional == "sinusoidal", ValueError,
               "--positional must be 'none' or 'sinusoidal', got '{}'", options.positional);

  Tensor64 x = Tensor64::empty({n, d});  // (N, d_model)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) x.data()[i * d + j] = input[i][j];

  Generator generator(options.seed);
  const Tensor64 w_q = readable_weights({d, d}, generator), w_k = readable_weights({d, d}, generator),
                 w_v = readable_weights({d, d}, generator), w_o = readable_weights({d, d}, generator);
  const Tensor64 additive_wq = readable_weights({d, d}, generator), additive_wk = readable_weights({d, d}, generator),
                 additive_v = readable_weights({d}, generator);

  Json result;
  result["input"] = {{"tokens", tokens}, {"X", matrix_json(x)}};
  result["weights"] = {{"W_Q", matrix_json(w_q)},
                       {"W_K", matrix_json(w_k)},
                       {"W_V", matrix_json(w_v)},
                       {"W_O", matrix_json(w_o)},
                       {"seed", options.seed}};
  result["runs"] = Json::array();
  const std::vector<bool> masks = options.causal       ? std::vector<bool>{true}
                                  : options.both_masks ? std::vector<bool>{false, true}
                                                       : std::vector<bool>{false};
  for (const std::string& mechanism : options.mechanisms) {
    ATTEND_CHECK(
        mechanism == "dot" || mechanism == "scaled-dot" || mechanism == "additive" || mechanism == "multi-head",
        ValueError, "--mechanism must be dot, scaled-dot, additive, multi-head or all; got '{}'", mechanism);
    for (bool causal : masks) {
      Steps steps;
      Tensor64 h = x;
      steps.add("X", "the input: one row per token", x);
      if (options.positional == "sinusoidal") {
        const Tensor64 pe = sinusoidal_positional_encoding<double>(n, d);
        steps.add("PE", "sinusoidal positions: PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...)", pe);
        h = add(x, pe);
        steps.add("X + PE", "the input with its positions added", h);
      }
      steps.add("W_Q", "query weights (drawn from the seed)", w_q);
      steps.add("W_K", "key weights", w_k);
      steps.add("W_V", "value weights", w_v);
      const Tensor64 q = matmul(h, w_q), k = matmul(h, w_k), v = matmul(h, w_v);
      steps.add("Q", "queries: X W_Q", q);
      steps.add("K", "keys: X W_K", k);
      steps.add("V", "values: X W_V", v);
      Tensor64 output;
      if (mechanism == "dot" || mechanism == "scaled-dot") {
        Tensor64 scores = matmul(q, k.transpose(0, 1));
        steps.add("scores", "Q K^T: score[i, j] = q_i . k_j", scores);
        if (mechanism == "scaled-dot") {
          scores = mul_scalar(scores, 1 / std::sqrt(static_cast<double>(d)));
          steps.add("scaled scores", fmt::format("Q K^T / sqrt(d_k) with d_k = {}", d), scores);
        }
        output = finish(steps, scores, v, causal);
      } else if (mechanism == "additive") {
        steps.add("W_a (query)", "additive attention's query weight", additive_wq);
        steps.add("W_a (key)", "additive attention's key weight", additive_wk);
        steps.add("v_a", "additive attention's score vector", additive_v);
        const Tensor64 scores =
            additive_scores(q.unsqueeze(0), k.unsqueeze(0), additive_wq, additive_wk, additive_v).squeeze(0);
        steps.add("scores", "v_a^T tanh(q_i W_a(query) + k_j W_a(key)) (Bahdanau et al. 2015)", scores);
        output = finish(steps, scores, v, causal);
      } else {
        const int64_t heads = options.heads, head_dim = d / heads;
        std::vector<Tensor64> head_outputs;
        for (int64_t head = 0; head < heads; ++head) {
          const auto part = [&](const Tensor64& t) {
            return t.slice(1, head * head_dim, (head + 1) * head_dim).contiguous();
          };
          const std::string tag = fmt::format(" (head {})", head);
          steps.add("Q" + tag, fmt::format("columns {}..{} of Q", head * head_dim, (head + 1) * head_dim - 1), part(q));
          steps.add("K" + tag, "the same columns of K", part(k));
          steps.add("V" + tag, "the same columns of V", part(v));
          Tensor64 scores =
              mul_scalar(matmul(part(q), part(k).transpose(0, 1)), 1 / std::sqrt(static_cast<double>(head_dim)));
          steps.add("scaled scores" + tag, fmt::format("Q_h K_h^T / sqrt({})", head_dim), scores);
          if (causal) {
            scores = masked_fill(scores, causal_blocked(n), -INFINITY);
            steps.add("masked scores" + tag, "causal mask (-inf above the diagonal)", scores);
          }
          const Tensor64 weights = softmax(scores, -1);
          steps.add("weights" + tag, "softmax over each row", weights);
          head_outputs.push_back(matmul(weights, part(v)));
          steps.add("output" + tag, "weights x V_h", head_outputs.back());
        }
        const Tensor64 merged = concat(head_outputs, 1);
        steps.add("concatenated heads", "the heads' outputs side by side", merged);
        steps.add("W_O", "output weights", w_o);
        output = matmul(merged, w_o);
        steps.add("output", "concatenated heads x W_O", output);
      }
      // The same numbers through the library's attention entry point, as a check.
      double check = 0;
      if (mechanism != "additive") {
        const int64_t heads = mechanism == "multi-head" ? options.heads : 1;
        auto to_heads = [&](const Tensor64& t) { return t.reshape({1, n, heads, d / heads}).transpose(1, 2); };
        AttentionOptions<double> attention;
        attention.causal = causal;
        if (mechanism == "dot") attention.scale = 1.0;
        Tensor64 reference = scaled_dot_product_attention(to_heads(q), to_heads(k), to_heads(v), attention)
                                 .output.transpose(1, 2)
                                 .reshape({n, d});
        if (mechanism == "multi-head") reference = matmul(reference, w_o);
        for (int64_t i = 0; i < output.numel(); ++i) {
          check = std::max(check, std::abs(reference.to_vector()[i] - output.to_vector()[i]));
        }
      }
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
  auto render_matrix = [&](const Json& step) {
    const auto& rows = step["values"];
    const bool token_rows = step["rows"] == "tokens";
    std::string text;
    if (step["columns"] == "tokens") {
      text += fmt::format("  {:>8}", "");
      for (const auto& t : tokens) text += fmt::format(" {:>9}", t.get<std::string>());
      text += "\n";
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      const std::string label = token_rows ? tokens[i].get<std::string>() : "";
      text += fmt::format("  {:>8}", label);
      for (const auto& v : rows[i]) {
        text += v.is_string() ? fmt::format(" {:>9}", v.get<std::string>()) : fmt::format(" {:>9.4f}", v.get<double>());
      }
      text += "\n";
    }
    return text;
  };
  out += "Weights are drawn from seed " + explanation["weights"]["seed"].dump() + " and rounded to one decimal.\n";
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
