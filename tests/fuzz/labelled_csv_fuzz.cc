// Fuzz target: CSV of labelled texts (data/labelled_texts.h) from arbitrary bytes, then the split.
// Invariants of a file that parses: every record has a known label, a non-empty text and a
// confidence in [0, 1]; lines increase; the split puts every record on exactly one side.
#include <cstdint>
#include <string>

#include "attend/data/labelled_texts.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attend;
  return fuzz::run_reader([&] {
    const data::LabelledTexts texts = data::parse_labelled_csv(fuzz::bytes_of(data, size), "fuzz.csv");
    int64_t previous_line = 0;
    for (const data::LabelledText& record : texts.records) {
      ATTEND_FUZZ_REQUIRE(record.label >= 0 && record.label < static_cast<int64_t>(texts.class_names.size()));
      ATTEND_FUZZ_REQUIRE(!record.text.empty());
      ATTEND_FUZZ_REQUIRE(!record.confidence || (*record.confidence >= 0 && *record.confidence <= 1));
      ATTEND_FUZZ_REQUIRE(record.line > previous_line);
      previous_line = record.line;
    }
    const data::LabelledSplits splits = data::split_labelled_texts(texts);
    ATTEND_FUZZ_REQUIRE(splits.train.size() + splits.dev.size() + splits.test.size() == texts.records.size());
  });
}
