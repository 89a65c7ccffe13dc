// `attend bench attention` reports numbers people compare: its arithmetic is checked here by
// hand, on a quick run of the reference path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "attend/core/error.h"
#include "bench.h"

namespace attend::tools {
namespace {

using Json = nlohmann::ordered_json;

// The fields every JSON line must have, exactly.
std::vector<std::string> expected_fields(bool decode) {
  std::vector<std::string> fields = {"impl",
                                     "B",
                                     "H",
                                     "N",
                                     "M",
                                     "D",
                                     "causal",
                                     "pass",
                                     "threads",
                                     "ms",
                                     "runs",
                                     "gflops",
                                     "sgemm_gflops",
                                     "ratio_to_sgemm",
                                     "ratio_spread",
                                     "wide",
                                     "peak_extra_bytes"};
  if (decode) {
    fields.push_back("gbps");
    fields.push_back("copy_gbps");
    fields.push_back("ratio_to_copy");
  }
  return fields;
}

// One test for the measured run, since ctest starts a process per test; the roofline is kept
// small (a 2048^3 sgemm alone takes a second here).
TEST(Bench, QuickReferenceRunReportsConsistentRows) {
  BenchOptions options;
  options.quick = true;
  options.implementations = "reference";
  options.min_seconds = 0;  // exactly `repeats` timed runs: one in each of the 5 rounds
  options.sgemm_size = 512;
  options.copy_megabytes = 64;
  const std::vector<BenchRow> rows = run_attention_bench(options);

  // D = 64, N in {128, 512}, causal no/yes, forward and forward+backward, then decode M = 4096.
  ASSERT_EQ(rows.size(), 2u * 2u * 2u + 1u);
  for (const BenchRow& row : rows) {
    SCOPED_TRACE(text_row(row));
    EXPECT_TRUE(row.skipped.empty());
    EXPECT_EQ(row.runs, 5);
    EXPECT_GT(row.peak_extra_bytes, 0);

    const Json j = row_json(row);
    const auto fields = expected_fields(row.shape.decode);
    EXPECT_EQ(j.size(), fields.size()) << j.dump();
    for (const std::string& field : fields) {
      ASSERT_TRUE(j.contains(field)) << field << " missing in " << j.dump();
      EXPECT_FALSE(j[field].is_null()) << field << " is null in " << j.dump();
    }
    EXPECT_EQ(j["impl"], "reference");
    EXPECT_EQ(j["B"], 1);
    EXPECT_EQ(j["H"], 8);
    EXPECT_EQ(j["D"], 64);

    // The rates follow from the median time.
    const double ms = j["ms"].get<double>(), gflops = j["gflops"].get<double>();
    EXPECT_GT(ms, 0);
    EXPECT_NEAR(gflops, row.flops / (ms * 1e-3) / 1e9, 1e-9 * gflops);
    // The ratio is the median over the rounds of (the round's rate / its roof run): with one run a
    // round, the rounds' ratios bracket it, and the spread is theirs.
    EXPECT_GT(j["sgemm_gflops"].get<double>(), 0);
    EXPECT_GT(j["ratio_to_sgemm"].get<double>(), 0);
    EXPECT_GE(j["ratio_spread"].get<double>(), 0);
    EXPECT_EQ(j["wide"].get<bool>(), j["ratio_spread"].get<double>() > options.wide_spread);
    if (row.shape.decode) {
      // K and V read once: 2 * B * H_kv * M * D * 4 bytes.
      const double bytes = 2.0 * 1 * 8 * 4096 * 64 * 4;
      EXPECT_NEAR(j["gbps"].get<double>(), bytes / (ms * 1e-3) / 1e9, 1e-9 * j["gbps"].get<double>());
      EXPECT_GT(j["copy_gbps"].get<double>(), 0);
      EXPECT_GT(j["ratio_to_copy"].get<double>(), 0);
    }
  }

  // The first rows by hand: D = 64, N = M = 128.
  ASSERT_EQ(rows[0].shape.queries, 128);
  ASSERT_FALSE(rows[0].shape.causal);
  ASSERT_EQ(rows[0].shape.pass, "forward");
  EXPECT_DOUBLE_EQ(rows[0].flops, 33554432.0);  // 4 * B * H * N * M * D = 4 * 1 * 8 * 128 * 128 * 64
  ASSERT_EQ(rows[1].shape.pass, "forward+backward");
  EXPECT_DOUBLE_EQ(rows[1].flops, 117440512.0);  // 14 * 1 * 8 * 128 * 128 * 64
  ASSERT_TRUE(rows[2].shape.causal);
  ASSERT_EQ(rows[2].shape.pass, "forward");
  EXPECT_DOUBLE_EQ(rows[2].flops, 16908288.0);  // 4 * 1 * 8 * (128 * 129 / 2) * 64
  EXPECT_TRUE(rows.back().shape.decode);
  EXPECT_EQ(rows.back().shape.queries, 1);
  EXPECT_EQ(rows.back().shape.keys, 4096);
}

TEST(Bench, CausalFlopsCountTheAllowedPairsExactly) {
  // 4x4 causal: rows allow 1, 2, 3, 4 keys.
  EXPECT_EQ(allowed_pairs(4, 4, true), 10);
  EXPECT_EQ(allowed_pairs(4, 4, false), 16);
  // More queries than keys: rows 0..2 allow 1, 2, 3; rows 3, 4 allow all 3.
  EXPECT_EQ(allowed_pairs(5, 3, true), 1 + 2 + 3 + 3 + 3);
  EXPECT_EQ(allowed_pairs(2, 5, true), 1 + 2);
  for (int64_t n : {1, 7, 128, 512}) {
    int64_t count = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) count += j <= i;
    EXPECT_EQ(allowed_pairs(n, n, true), count) << n;
  }
  BenchCase c;
  c.queries = c.keys = 4096;
  c.head_dim = 128;
  c.causal = true;
  c.pass = "forward+backward";
  EXPECT_DOUBLE_EQ(attention_flops(c), 14.0 * 8 * (4096.0 * 4097 / 2) * 128);
}

TEST(Bench, ReferenceRowsAboveTheMemoryLimitAreSkippedAndSaySo) {
  BenchCase c;
  c.implementation = "reference";
  c.queries = c.keys = 4096;
  c.head_dim = 64;
  c.pass = "forward+backward";
  BenchOptions options;
  options.reference_memory_limit_gb = 0.001;
  const Roofline roofline{.threads = 1, .sgemm_size = 64, .sgemm_gflops = 100};
  RoofProbe roof(roofline);
  const BenchRow row = run_case(c, roof, roofline, options);
  EXPECT_NE(row.skipped.find("--reference-memory-gb"), std::string::npos) << row.skipped;
  const Json j = row_json(row);
  EXPECT_TRUE(j["ms"].is_null());
  EXPECT_EQ(j["skipped"], row.skipped);
  EXPECT_NE(text_row(row).find("skipped"), std::string::npos);
}

TEST(Bench, CasesFollowTheOptions) {
  BenchOptions options;
  EXPECT_EQ(bench_cases(options).size(), 2u * 5u * 2u * 2u * 2u + 2u * 2u * 2u);
  options.max_n = 1024;
  options.implementations = "fused";
  EXPECT_EQ(bench_cases(options).size(), 2u * 3u * 2u * 2u + 2u * 2u);
  options.decode_only = true;
  for (const BenchCase& c : bench_cases(options)) EXPECT_TRUE(c.decode && c.queries == 1);

  options = {};
  options.head_dims = {128};
  options.lengths = {2048};
  options.prefill_only = true;
  const auto one_shape = bench_cases(options);
  EXPECT_EQ(one_shape.size(), 2u * 2u * 2u);  // causal no/yes, two passes, two implementations
  for (const BenchCase& c : one_shape) EXPECT_TRUE(c.head_dim == 128 && c.queries == 2048 && !c.decode);
}

TEST(Bench, BadOptionsAreRejectedWithTheirName) {
  auto message = [](const BenchOptions& options) {
    try {
      validate(options);
    } catch (const ValueError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  BenchOptions options;
  options.implementations = "fast";
  EXPECT_NE(message(options).find("--impl"), std::string::npos);
  options = {};
  options.repeats = 2;
  EXPECT_NE(message(options).find("--repeats"), std::string::npos);
  options = {};
  options.max_n = 64;
  EXPECT_NE(message(options).find("--max-n"), std::string::npos);
  options.decode_only = true;
  EXPECT_EQ(message(options), "");
  options.prefill_only = true;
  EXPECT_NE(message(options).find("--prefill-only"), std::string::npos);
  options = {};
  options.head_dims = {0};
  EXPECT_NE(message(options).find("--head-dim"), std::string::npos);
  options = {};
  options.lengths = {300};
  options.max_n = 200;
  EXPECT_NE(message(options).find("smallest N is 300"), std::string::npos);
  options = {};
  options.rounds = 2;
  EXPECT_NE(message(options).find("--rounds"), std::string::npos);
}

// The server a peer interleaves its timings with: one JSON answer per request line.
TEST(Bench, ServeAnswersRoofAndCaseRequestsAndStopsOnABadOne) {
  BenchOptions options;
  options.sgemm_size = 128;
  options.copy_megabytes = 1;
  options.reference_memory_limit_gb = 0.001;
  const std::string fused =
      R"({"impl":"fused","B":1,"H":2,"N":16,"M":16,"D":8,"causal":true,"pass":"forward+backward"})";
  const std::string big_reference =
      R"({"impl":"reference","B":1,"H":8,"N":4096,"M":4096,"D":64,"causal":false,"pass":"forward"})";
  std::istringstream in(R"({"roof":"sgemm"})"
                        "\n"
                        R"({"roof":"copy"})"
                        "\n"
                        R"({"case":)" +
                        fused +
                        R"(,"min_runs":3})"
                        "\n"
                        R"({"case":)" +
                        fused +
                        R"(,"min_runs":2})"
                        "\n"
                        R"({"case":)" +
                        big_reference +
                        "}\n"
                        R"({"roof":"gpu"})"
                        "\n"
                        R"({"roof":"sgemm"})"
                        "\n");
  std::ostringstream out;
  EXPECT_EQ(serve_bench_requests(in, out, options), 2);
  std::vector<Json> answers;
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);) answers.push_back(Json::parse(line));
  ASSERT_EQ(answers.size(), 7u) << out.str();  // the roofline, then one per request up to the bad one
  EXPECT_GT(answers[0]["sgemm_gflops"].get<double>(), 0);
  EXPECT_GT(answers[1]["gflops"].get<double>(), 0);
  EXPECT_GT(answers[2]["gbps"].get<double>(), 0);
  EXPECT_EQ(answers[3]["seconds"].size(), 3u);
  EXPECT_EQ(answers[4]["seconds"].size(), 2u);  // the same case again: its inputs are reused
  EXPECT_NE(answers[5]["skipped"].get<std::string>().find("--reference-memory-gb"), std::string::npos);
  EXPECT_NE(answers[6]["error"].get<std::string>().find("gpu"), std::string::npos);
}

TEST(Bench, CaseJsonRoundTripsAndBadCasesAreRefused) {
  BenchOptions options;
  options.quick = true;
  for (const BenchCase& c : bench_cases(options)) {
    const BenchCase back = case_from_json(case_json(c));
    EXPECT_EQ(case_json(back), case_json(c));
    EXPECT_EQ(back.decode, c.decode);
  }
  Json bad = case_json(bench_cases(options).front());
  bad["N"] = 0;
  EXPECT_THROW(case_from_json(bad), ValueError);
  bad = case_json(bench_cases(options).front());
  bad["impl"] = "fast";
  EXPECT_THROW(case_from_json(bad), ValueError);
}

}  // namespace
}  // namespace attend::tools
