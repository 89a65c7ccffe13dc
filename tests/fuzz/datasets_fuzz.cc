// Fuzz target: the training data readers, from arbitrary bytes. The first byte picks the reader:
//   0: the CMU Pronouncing Dictionary (data/cmudict.h: parse_cmudict)
//   1: an IDX file of rank 1 or 2: 3 (data/fashion_mnist.h: read_idx; gzip or plain)
// Invariants: dictionary words are non-empty a-z and apostrophes with at least one pronunciation of
// known phonemes; an IDX array's bytes are exactly its shape's element count.
#include <algorithm>
#include <cstdint>
#include <string>

#include "attend/core/shape.h"
#include "attend/data/cmudict.h"
#include "attend/data/fashion_mnist.h"
#include "fuzz/fuzz_input.h"

namespace {

using namespace attend;

void check_entries(const std::vector<data::DictionaryEntry>& entries) {
  const std::vector<std::string>& phonemes = data::cmudict_phonemes();
  for (const data::DictionaryEntry& entry : entries) {
    ATTEND_FUZZ_REQUIRE(!entry.word.empty() && !entry.pronunciations.empty());
    for (const char c : entry.word) ATTEND_FUZZ_REQUIRE((c >= 'a' && c <= 'z') || c == '\'');
    for (const auto& pronunciation : entry.pronunciations) {
      ATTEND_FUZZ_REQUIRE(!pronunciation.empty());
      for (const std::string& phoneme : pronunciation) {
        ATTEND_FUZZ_REQUIRE(std::find(phonemes.begin(), phonemes.end(), phoneme) != phonemes.end());
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string file = fuzz::bytes_of(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    return fuzz::run_reader([&] {
      const data::PronouncingDictionary dictionary = data::parse_cmudict(file);
      check_entries(dictionary.train);
      check_entries(dictionary.dev);
      check_entries(dictionary.test);
    });
  }
  const int rank = 1 + (data[0] >> 1) % 3;
  return fuzz::run_reader([&] {
    const data::IdxArray array = data::read_idx(fuzz::write_input_file(file, "images.idx"), rank);
    ATTEND_FUZZ_REQUIRE(static_cast<int64_t>(array.shape.size()) == rank);
    ATTEND_FUZZ_REQUIRE(static_cast<int64_t>(array.values.size()) == shape_numel(array.shape));
  });
}
