// `attend explain` must be right by construction: its numbers are checked here against loops.
#include <gtest/gtest.h>

#include <cmath>

#include "attend/core/error.h"
#include "explain.h"

namespace attend::tools {
namespace {

using Json = nlohmann::json;

std::vector<std::vector<double>> values(const Json& step) {
  std::vector<std::vector<double>> m;
  for (const auto& row : step["values"]) {
    std::vector<double> r;
    for (const auto& v : row) r.push_back(v.is_string() ? -INFINITY : v.get<double>());
    m.push_back(r);
  }
  return m;
}

const Json& step(const Json& run, const std::string& name) {
  for (const auto& s : run["steps"]) {
    if (s["name"] == name) return s;
  }
  throw std::runtime_error("no step " + name);
}

TEST(Explain, EveryStepOfScaledDotIsConsistent) {
  ExplainOptions options;
  options.mechanisms = {"scaled-dot"};
  const Json e = explain(options);
  ASSERT_EQ(e["runs"].size(), 2u);  // without and with the causal mask
  for (const auto& run : e["runs"]) {
    const auto x = values(step(run, "X"));
    const auto wq = values(step(run, "W_Q")), wk = values(step(run, "W_K")), wv = values(step(run, "W_V"));
    const auto q = values(step(run, "Q")), k = values(step(run, "K")), v = values(step(run, "V"));
    const auto scores = values(step(run, "scores")), scaled = values(step(run, "scaled scores"));
    const auto weights = values(step(run, "weights")), output = values(step(run, "output"));
    const size_t n = x.size(), d = x[0].size();
    EXPECT_EQ(n, 3u);
    EXPECT_EQ(d, 2u);
    for (size_t i = 0; i < n; ++i) {
      for (size_t c = 0; c < d; ++c) {
        double qi = 0, ki = 0, vi = 0;
        for (size_t r = 0; r < d; ++r) {
          qi += x[i][r] * wq[r][c];
          ki += x[i][r] * wk[r][c];
          vi += x[i][r] * wv[r][c];
        }
        EXPECT_NEAR(q[i][c], qi, 1e-12);
        EXPECT_NEAR(k[i][c], ki, 1e-12);
        EXPECT_NEAR(v[i][c], vi, 1e-12);
      }
      double row = 0;
      for (size_t j = 0; j < n; ++j) {
        double dot = 0;
        for (size_t c = 0; c < d; ++c) dot += q[i][c] * k[j][c];
        EXPECT_NEAR(scores[i][j], dot, 1e-12);
        EXPECT_NEAR(scaled[i][j], dot / std::sqrt(2.0), 1e-12);
        if (run["causal"].get<bool>() && j > i) {
          EXPECT_EQ(weights[i][j], 0.0);
        }
        row += weights[i][j];
      }
      EXPECT_NEAR(row, 1.0, 1e-12);
      for (size_t c = 0; c < d; ++c) {
        double o = 0;
        for (size_t j = 0; j < n; ++j) o += weights[i][j] * v[j][c];
        EXPECT_NEAR(output[i][c], o, 1e-12);
      }
    }
    EXPECT_LT(run["max_difference_from_scaled_dot_product_attention"].get<double>(), 1e-12);
  }
}

TEST(Explain, AllMechanismsWithPositionsAndAGivenInput) {
  ExplainOptions options;
  options.input = parse_matrix("1,0,2,1;0,1,0,0;1,1,1,1;0.5,-1,2,0");
  options.tokens = {"a", "b", "c", "d"};
  options.positional = "sinusoidal";
  options.heads = 2;
  const Json e = explain(options);
  ASSERT_EQ(e["runs"].size(), 8u);  // 4 mechanisms x (unmasked, causal)
  for (const auto& run : e["runs"]) {
    const auto pe = values(step(run, "PE"));
    EXPECT_NEAR(pe[1][0], std::sin(1.0), 1e-12);
    EXPECT_NEAR(pe[1][1], std::cos(1.0), 1e-12);
    const auto out = values(step(run, "output"));
    EXPECT_EQ(out.size(), 4u);
    if (run["mechanism"] != "additive") {
      EXPECT_LT(run["max_difference_from_scaled_dot_product_attention"].get<double>(), 1e-12) << run["mechanism"];
    }
  }
  EXPECT_FALSE(render_text(e).empty());
}

TEST(Explain, BadInputIsRejectedClearly) {
  EXPECT_THROW(parse_matrix("1,0;0"), ValueError);
  EXPECT_THROW(parse_matrix("1,x"), ValueError);
  EXPECT_THROW(parse_matrix(""), ValueError);
  EXPECT_THROW(parse_matrix("1,inf"), ValueError);
  ExplainOptions options;
  options.heads = 3;  // does not divide 2 features
  EXPECT_THROW(explain(options), ValueError);
  ExplainOptions labels;
  labels.tokens = {"only", "two"};
  EXPECT_THROW(explain(labels), ValueError);
}

}  // namespace
}  // namespace attend::tools
