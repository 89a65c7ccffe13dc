#include "attend/data/cmudict.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "attend/core/error.h"
#include "attend/io/data_locations.h"

namespace attend::data {

uint64_t fnv1a64(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

Split split_of(const std::string& word) {
  const uint64_t bucket = fnv1a64(word) % 100;
  return bucket < 90 ? Split::kTrain : bucket < 95 ? Split::kDev : Split::kTest;
}

const std::vector<std::string>& cmudict_phonemes() {
  static const std::vector<std::string> phonemes = {"AA", "AE", "AH", "AO", "AW", "AY", "B",  "CH", "D",  "DH",
                                                    "EH", "ER", "EY", "F",  "G",  "HH", "IH", "IY", "JH", "K",
                                                    "L",  "M",  "N",  "NG", "OW", "OY", "P",  "R",  "S",  "SH",
                                                    "T",  "TH", "UH", "UW", "V",  "W",  "Y",  "Z",  "ZH"};
  return phonemes;
}

PronouncingDictionary parse_cmudict(const std::string& text) {
  const std::set<std::string> known(cmudict_phonemes().begin(), cmudict_phonemes().end());
  std::map<std::string, std::vector<std::vector<std::string>>> words;  // sorted: a fixed order
  std::set<std::string> dropped;
  std::istringstream lines(text);
  std::string line;
  int64_t number = 0;
  while (std::getline(lines, line)) {
    ++number;
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream fields(line);
    std::string word;
    if (!(fields >> word)) continue;  // blank or comment-only line
    if (const size_t paren = word.find('('); paren != std::string::npos) {
      ATTEND_CHECK(paren > 0 && word.back() == ')', ValueError, "cmudict line {}: malformed variant '{}'", number,
                   word);
      word.resize(paren);
    }
    std::vector<std::string> phonemes;
    std::string phoneme;
    while (fields >> phoneme) {
      while (!phoneme.empty() && phoneme.back() >= '0' && phoneme.back() <= '9') phoneme.pop_back();
      ATTEND_CHECK(known.count(phoneme) == 1, ValueError, "cmudict line {}: unknown phoneme '{}' for '{}'", number,
                   phoneme, word);
      phonemes.push_back(phoneme);
    }
    ATTEND_CHECK(!phonemes.empty(), ValueError, "cmudict line {}: '{}' has no phonemes", number, word);
    std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return std::tolower(c); });
    const bool letters_only =
        std::all_of(word.begin(), word.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '\''; });
    if (!letters_only) {
      dropped.insert(word);
      continue;
    }
    auto& prons = words[word];
    if (std::find(prons.begin(), prons.end(), phonemes) == prons.end()) prons.push_back(phonemes);
  }
  PronouncingDictionary dictionary;
  dictionary.dropped_words = static_cast<int64_t>(dropped.size());
  for (auto& [word, prons] : words) {
    DictionaryEntry entry{word, std::move(prons)};
    switch (split_of(word)) {
      case Split::kTrain:
        dictionary.train.push_back(std::move(entry));
        break;
      case Split::kDev:
        dictionary.dev.push_back(std::move(entry));
        break;
      case Split::kTest:
        dictionary.test.push_back(std::move(entry));
        break;
    }
  }
  return dictionary;
}

std::string default_cmudict_path() { return io::located_path_or_empty(io::DataSet::kCmudict); }

PronouncingDictionary load_cmudict(const std::string& path) {
  ATTEND_CHECK(!path.empty(), ValueError,
               "the CMU Pronouncing Dictionary was not found: scripts/setup installs it into the data "
               "directory ({}), or set ATTEND_CMUDICT, or pass --data PATH/cmudict.dict",
               io::locate(io::DataSet::kCmudict).path);
  std::ifstream file(path, std::ios::binary);
  ATTEND_CHECK(file.good(), ValueError,
               "cannot read the CMU Pronouncing Dictionary at '{}': scripts/setup installs it, or pass "
               "--data PATH/cmudict.dict",
               path);
  std::ostringstream text;
  text << file.rdbuf();
  return parse_cmudict(text.str());
}

}  // namespace attend::data
