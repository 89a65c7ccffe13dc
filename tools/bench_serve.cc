// `attend bench attention --serve` (bench.h): attend's half of a benchmark that a peer interleaves
// with its own timings, one JSON request and one JSON answer per line.
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "bench.h"

namespace attend::tools {
namespace {

using Json = nlohmann::ordered_json;

// The timer of the last case asked for: a new case is set up (and warmed up) once.
class CaseCache {
 public:
  explicit CaseCache(const BenchOptions& options) : options_(options) {}

  CaseTimer& timer_for(const BenchCase& c) {
    const Json key = case_json(c);
    if (!timer_ || key != key_) {
      timer_.reset();  // free the last case's tensors first
      timer_ = std::make_unique<CaseTimer>(c, options_);
      key_ = key;
    }
    return *timer_;
  }

 private:
  const BenchOptions& options_;
  std::unique_ptr<CaseTimer> timer_;
  Json key_;
};

Json time_case(const nlohmann::json& request, CaseCache& cache, const BenchOptions& options) {
  const BenchCase c = case_from_json(request.at("case"));
  if (std::string reason = reason_to_skip(c, options); !reason.empty()) return {{"skipped", reason}};
  const int min_runs = request.value("min_runs", 1);
  const double min_seconds = request.value("min_seconds", 0.0);
  ATTEND_CHECK(min_runs >= 1 && min_runs <= 1000, ValueError, "min_runs must be in [1, 1000]; got {}", min_runs);
  ATTEND_CHECK(min_seconds >= 0 && min_seconds <= 60, ValueError, "min_seconds must be in [0, 60]; got {}",
               min_seconds);
  try {
    CaseTimer& timer = cache.timer_for(c);
    const std::vector<double> seconds = timer.time_block(min_runs, min_seconds, 1000);
    return {{"seconds", seconds}, {"peak_extra_bytes", timer.peak_extra_bytes()}};
  } catch (const Error& e) {
    if (c.implementation != "fused") throw;
    return {{"skipped", fmt::format("unsupported: {}", e.what())}};
  }
}

Json answer(const nlohmann::json& request, CaseCache& cache, RoofProbe& roof, const BenchOptions& options) {
  if (request.contains("case")) return time_case(request, cache, options);
  const std::string kind = request.value("roof", "");
  if (kind == "sgemm") return {{"gflops", roof.sgemm_gflops()}};
  if (kind == "copy") return {{"gbps", roof.copy_gbps()}};
  throw ValueError(
      fmt::format("a request is {{\"case\": ...}} or {{\"roof\": \"sgemm\" | \"copy\"}}; got {}", request.dump()));
}

}  // namespace

int serve_bench_requests(std::istream& in, std::ostream& out, const BenchOptions& options) {
  validate(options);
  std::optional<ThreadCountGuard> threads;
  if (options.threads > 0) threads.emplace(options.threads);
  const Roofline roofline = measure_roofline(options);
  out << Json{{"threads", roofline.threads},          {"sgemm_gflops", roofline.sgemm_gflops},
              {"copy_gbps", roofline.copy_gbps},      {"fma_gflops", 2 * roofline.fma_gmacs},
              {"int8_gops", 2 * roofline.int8_gmacs}, {"load_average", roofline.load_average}}
             .dump()
      << std::endl;
  RoofProbe roof(roofline);
  CaseCache cache(options);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    try {
      out << answer(nlohmann::json::parse(line), cache, roof, options).dump() << std::endl;
    } catch (const std::exception& e) {  // a malformed request or a failed run: say so, then stop
      out << Json{{"error", e.what()}}.dump() << std::endl;
      return 2;
    }
  }
  return 0;
}

}  // namespace attend::tools
