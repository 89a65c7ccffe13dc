// Reading a run's metrics.jsonl (declared in viz/curves.h).
#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "attend/core/error.h"
#include "attend/viz/curves.h"

namespace attend::viz {

std::vector<MetricSeries> read_metrics(const std::string& path) {
  std::ifstream in(path);
  ATTEND_CHECK(in.good(), ValueError, "cannot read the metrics file '{}': it does not exist or is not readable", path);
  std::vector<MetricSeries> series;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::ordered_json object;  // keeps the fields in file order
    try {
      object = nlohmann::ordered_json::parse(line);
    } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number like 1e400
      fail<ValueError>("'{}' line {}: not JSON ({})", path, number, e.what());
    }
    ATTEND_CHECK(object.is_object(), ValueError, "'{}' line {}: not a JSON object: {}", path, number, line);
    ATTEND_CHECK(object.contains("step") && object["step"].is_number(), ValueError,
                 "'{}' line {}: no numeric \"step\" in {}", path, number, line);
    const double step = object["step"].get<double>();
    for (const auto& item : object.items()) {
      const std::string& key = item.key();  // not a structured binding: the lambda below captures it
      const auto& value = item.value();
      if (key == "step" || !value.is_number() || !std::isfinite(value.get<double>())) continue;
      auto found = std::find_if(series.begin(), series.end(), [&](const MetricSeries& s) { return s.name == key; });
      if (found == series.end()) found = series.insert(series.end(), MetricSeries{key, {}, {}});
      found->steps.push_back(step);
      found->values.push_back(value.get<double>());
    }
  }
  ATTEND_CHECK(!series.empty(), ValueError, "'{}' holds no metrics (no line with a numeric field besides \"step\")",
               path);
  return series;
}

}  // namespace attend::viz
