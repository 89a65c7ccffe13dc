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

// A tutorial's worked example (unscaled dot-product self-attention on three 4-feature tokens,
// given W_Q, W_K, W_V): the exact numbers, which the tutorial rounds (its softmax of query 1's
// scores [2, 4, 4] is "[0.0, 0.5, 0.5]"; exactly it is [0.0634, 0.4683, 0.4683]).
TEST(Explain, GivenWeightsReproduceAWorkedExample) {
  ExplainOptions options;
  options.input = parse_matrix("1,0,1,0;0,2,0,2;1,1,1,1");
  options.w_q = parse_matrix("1,0,1;1,0,0;0,0,1;0,1,1", "--wq");
  options.w_k = parse_matrix("0,0,1;1,1,0;0,1,0;1,1,0", "--wk");
  options.w_v = parse_matrix("0,2,0;0,3,0;1,0,3;1,1,0", "--wv");
  options.mechanisms = {"dot"};
  const Json e = explain(options);
  ASSERT_EQ(e["runs"].size(), 2u);
  const Json& run = e["runs"][0];
  EXPECT_EQ(values(step(run, "K")), (std::vector<std::vector<double>>{{0, 1, 1}, {4, 4, 0}, {2, 3, 1}}));
  EXPECT_EQ(values(step(run, "scores"))[0], (std::vector<double>{2, 4, 4}));
  const double e2 = std::exp(2.0), e4 = std::exp(4.0);
  EXPECT_NEAR(values(step(run, "weights"))[0][0], e2 / (e2 + 2 * e4), 1e-15);
  const auto output = values(step(run, "output"));
  const double w0 = e2 / (e2 + 2 * e4), w1 = e4 / (e2 + 2 * e4);
  EXPECT_NEAR(output[0][0], w0 * 1 + w1 * 2 + w1 * 2, 1e-12);  // V rows [1,2,3], [2,8,0], [2,6,3]
  EXPECT_NEAR(output[0][1], w0 * 2 + w1 * 8 + w1 * 6, 1e-12);
  EXPECT_NEAR(output[0][2], w0 * 3 + w1 * 0 + w1 * 3, 1e-12);
  EXPECT_EQ(e["weights"]["given"], Json({"W_Q", "W_K", "W_V"}));
  EXPECT_NE(render_text(e).find("W_Q, W_K, W_V as given"), std::string::npos);
}

// Q, K and V given directly, with more keys than queries (cross-attention): every mechanism's
// output agrees with the library, the keys are labelled k0, k1, ..., and there is no causal run.
TEST(Explain, GivenQueriesKeysAndValuesForCrossAttention) {
  ExplainOptions options;
  options.queries = parse_matrix("1,0;0,1", "--q");
  options.keys = parse_matrix("1,1;0,1;2,0", "--k");
  options.values = parse_matrix("1,2;3,4;5,6", "--v");
  const Json e = explain(options);
  ASSERT_EQ(e["runs"].size(), 4u);  // 4 mechanisms, unmasked only
  EXPECT_EQ(e["input"]["key_tokens"], Json({"k0", "k1", "k2"}));
  for (const auto& run : e["runs"]) {
    EXPECT_FALSE(run["causal"].get<bool>());
    EXPECT_EQ(values(step(run, "output")).size(), 2u);
    EXPECT_EQ(step(run, "K")["rows"], "keys");
    EXPECT_LT(run["max_difference_from_scaled_dot_product_attention"].get<double>(), 1e-12) << run["mechanism"];
  }
  const auto weights = values(step(e["runs"][1], "weights"));  // scaled-dot: softmax(Q K^T / sqrt(2))
  const double s = 1 / std::sqrt(2.0);
  const double z = std::exp(1 * s) + std::exp(0.0) + std::exp(2 * s);
  EXPECT_NEAR(weights[0][2], std::exp(2 * s) / z, 1e-15);
}

TEST(Explain, GivenMatricesThatDoNotFitAreRejectedWithTheirShapes) {
  const auto message = [](const ExplainOptions& options) {
    try {
      explain(options);
    } catch (const ValueError& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  ExplainOptions only_two;
  only_two.queries = parse_matrix("1,0");
  only_two.keys = parse_matrix("1,0");
  EXPECT_NE(message(only_two).find("--q, --k and --v go together"), std::string::npos);
  ExplainOptions widths = only_two;
  widths.keys = parse_matrix("1,0,1");
  widths.values = parse_matrix("1");
  EXPECT_NE(message(widths).find("--q is 1 x 2 and --k is 1 x 3"), std::string::npos);
  ExplainOptions rows;
  rows.w_q = rows.w_k = rows.w_v = parse_matrix("1,0,0;0,1,0;0,0,1");  // 3 rows for the example's 2 features
  EXPECT_NE(message(rows).find("--wq is 3 x 3 but the input X is 3 x 2"), std::string::npos);
  ExplainOptions cross = only_two;
  cross.keys = parse_matrix("1,0;0,1");
  cross.values = parse_matrix("1,0;0,1");
  cross.causal = true;
  EXPECT_NE(message(cross).find("--causal needs as many queries as keys; there are 1 queries and 2 keys"),
            std::string::npos);
  EXPECT_THROW(parse_matrix("1,x", "--wk"), ValueError);
}

}  // namespace
}  // namespace attend::tools
