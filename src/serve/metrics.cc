#include "attend/serve/metrics.h"

#include <fmt/format.h>

#include "attend/core/error.h"

namespace attend::serve {
namespace {

std::string with_label(const std::string& labels, const std::string& extra) {
  return labels.empty() ? extra : labels + "," + extra;
}

std::string braces(const std::string& labels) { return labels.empty() ? "" : "{" + labels + "}"; }

std::string number(double value) { return fmt::format("{}", value); }

}  // namespace

Metrics::Metrics() {
  declare("attend_requests_total", "counter", "Requests answered, by route and HTTP status.");
  declare("attend_request_duration_seconds", "histogram", "Time from a request's arrival to its last byte, by route.",
          {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60});
  declare("attend_prompt_tokens_total", "counter", "Prompt tokens of completions run through the decoder.");
  declare("attend_completion_tokens_total", "counter", "Tokens generated.");
  declare("attend_embedding_tokens_total", "counter", "Tokens run through the embedding model.");
  declare("attend_embedding_batch_inputs", "histogram", "Inputs per embedding forward pass.",
          {1, 2, 4, 8, 16, 32, 64, 128, 256});
  declare("attend_decode_batch_sequences", "histogram", "Sequences per decoder forward call.",
          {1, 2, 4, 8, 16, 32, 64});
  declare("attend_requests_in_flight", "gauge", "Requests being answered now.");
  declare("attend_queue_depth", "gauge", "Requests waiting for a model, by queue.");
  declare("attend_active_sequences", "gauge", "Sequences being generated now.");
}

void Metrics::declare(const std::string& name, const std::string& type, const std::string& help,
                      std::vector<double> bounds) {
  Family& f = families_[name];
  f.type = type;
  f.help = help;
  f.bounds = std::move(bounds);
}

Metrics::Family& Metrics::family(const std::string& name) {
  const auto it = families_.find(name);
  ATTEND_CHECK(it != families_.end(), ValueError, "Metrics: no metric '{}' is declared", name);
  return it->second;
}

void Metrics::record_request(const std::string& route, int status, double seconds) {
  const std::string labels = fmt::format("route=\"{}\"", route);
  add("attend_requests_total", 1, with_label(labels, fmt::format("status=\"{}\"", status)));
  observe("attend_request_duration_seconds", seconds, labels);
}

void Metrics::add(const std::string& name, double value, const std::string& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  family(name).values[labels] += value;
}

void Metrics::set(const std::string& name, double value, const std::string& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  family(name).values[labels] = value;
}

void Metrics::observe(const std::string& name, double value, const std::string& labels) {
  std::lock_guard<std::mutex> lock(mutex_);
  Family& f = family(name);
  Histogram& h = f.histograms[labels];
  if (h.counts.empty()) {
    h.bounds = f.bounds;
    h.counts.assign(f.bounds.size() + 1, 0);
  }
  size_t bucket = 0;
  while (bucket < h.bounds.size() && value > h.bounds[bucket]) ++bucket;
  ++h.counts[bucket];
  h.sum += value;
  ++h.count;
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string text;
  for (const auto& [name, f] : families_) {
    text += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, f.help, name, f.type);
    for (const auto& [labels, value] : f.values) text += fmt::format("{}{} {}\n", name, braces(labels), number(value));
    for (const auto& [labels, h] : f.histograms) {
      uint64_t cumulative = 0;
      for (size_t b = 0; b < h.counts.size(); ++b) {
        cumulative += h.counts[b];
        const std::string le = b < h.bounds.size() ? number(h.bounds[b]) : "+Inf";
        text +=
            fmt::format("{}_bucket{} {}\n", name, braces(with_label(labels, fmt::format("le=\"{}\"", le))), cumulative);
      }
      text += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, braces(labels), number(h.sum), name, braces(labels),
                          h.count);
    }
  }
  return text;
}

}  // namespace attend::serve
