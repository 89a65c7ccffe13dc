// `attend tokenize [--model DIR] [--pair] [--max-length N [--truncate]] [--json] TEXT...` and
// `attend tokenize --stdin`: BERT word pieces and ids of texts (text/bert_tokenizer.h).
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "attend/text/bert_tokenizer.h"

namespace attend::tools {

// add_tokenize_command (commands.h) registers `tokenize`.

// {"ids": [...], "token_type_ids": [...], "attention_mask": [...], "tokens": [...], "truncated": b}
nlohmann::json encoding_json(const text::Encoding& encoding);

// The warning for an encoding that was cut, naming the input (e.g. "line 3"), or "".
std::string truncation_warning(const text::Encoding& encoding, const std::string& input_name);

// --stdin: one text per line of `in` (two lines per pair with `pair`), one JSON line per
// encoding on `out`, warnings on `warnings`. A line over max_length without truncate is an
// error naming the line. Returns the number of encodings written.
int64_t tokenize_lines(const text::BertTokenizer& tokenizer, const text::EncodeOptions& options, bool pair,
                       std::istream& in, std::ostream& out, std::ostream& warnings);

}  // namespace attend::tools
