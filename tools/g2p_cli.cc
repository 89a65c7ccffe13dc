#include "g2p_cli.h"

#include <fmt/format.h>

#include "attend/train/g2p_training.h"

namespace attend::tools {

void print_pronunciations(models::G2PModel<float>& model, const std::vector<std::string>& words, int64_t beam) {
  for (const auto& word : words) {
    std::string phones;
    for (const auto& p : train::pronounce(model, word, beam)) phones += p + " ";
    fmt::print("  {:<16} {}\n", word, phones);
  }
}

data::PronouncingDictionary load_dictionary(const std::string& data_path) {
  const std::string path = data_path.empty() ? data::default_cmudict_path() : data_path;
  const data::PronouncingDictionary dictionary = data::load_cmudict(path);
  fmt::print("CMU Pronouncing Dictionary: {} train, {} dev, {} test words ({} dropped: characters outside a-z and ')\n",
             dictionary.train.size(), dictionary.dev.size(), dictionary.test.size(), dictionary.dropped_words);
  return dictionary;
}

}  // namespace attend::tools
