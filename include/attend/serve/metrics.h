// The server's counters, gauges and histograms, rendered in Prometheus' text exposition format
// (version 0.0.4) for GET /metrics. Thread-safe: every HTTP thread and the model workers record.
//
//   attend_requests_total{route, status}                     counter
//   attend_request_duration_seconds{route}                   histogram (le: 5 ms ... 60 s)
//   attend_prompt_tokens_total, attend_completion_tokens_total, attend_embedding_tokens_total
//   attend_embedding_batch_inputs, attend_decode_batch_sequences   histograms of batch sizes
//   attend_requests_in_flight, attend_queue_depth{queue}, attend_active_sequences   gauges
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace attend::serve {

class Metrics {
 public:
  Metrics();

  // One answered request: counted by route and status, its latency in the route's histogram.
  void record_request(const std::string& route, int status, double seconds);
  // name: a counter declared in the constructor; labels as Prometheus writes them ("" or k="v",...).
  void add(const std::string& name, double value, const std::string& labels = "");
  void set(const std::string& name, double value, const std::string& labels = "");
  void observe(const std::string& name, double value, const std::string& labels = "");

  std::string render() const;

 private:
  struct Histogram {
    std::vector<double> bounds;
    std::vector<uint64_t> counts;  // per bound, not cumulative; the last is +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  struct Family {
    std::string type, help;
    std::vector<double> bounds;  // histograms
    std::map<std::string, double> values;
    std::map<std::string, Histogram> histograms;
  };
  Family& family(const std::string& name);
  void declare(const std::string& name, const std::string& type, const std::string& help,
               std::vector<double> bounds = {});

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

}  // namespace attend::serve
