#include "tokenize_command.h"

#include <iostream>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/core/utf8.h"
#include "cli_checks.h"
#include "commands.h"

namespace attend::tools {
namespace {

struct TokenizeArguments {
  std::string model = text::default_minilm_directory();
  std::vector<std::string> texts;
  bool pair = false;
  int64_t max_length = 0;  // 0: no limit
  bool truncate = false;
  bool json = false;
  bool from_stdin = false;
};

text::EncodeOptions encode_options(const TokenizeArguments& args) {
  text::EncodeOptions options;
  if (args.max_length > 0) options.max_length = args.max_length;
  options.truncate = args.truncate;
  return options;
}

// Encodes `first` (and `second` when not null), naming `input_name` in an error.
text::Encoding encode_one(const text::BertTokenizer& tokenizer, const text::EncodeOptions& options,
                          const std::string& first, const std::string* second, const std::string& input_name) {
  try {
    return second != nullptr ? tokenizer.encode_pair(first, *second, options) : tokenizer.encode(first, options);
  } catch (const ValueError& e) {
    fail("{}: {}", input_name, e.what());
  }
}

std::string joined(const std::vector<int64_t>& values) { return fmt::format("{}", fmt::join(values, " ")); }

void print_text(const text::Encoding& encoding, bool pair) {
  fmt::print("tokens: {}\n", fmt::join(encoding.tokens, " "));
  fmt::print("ids: {}\n", joined(encoding.ids));
  if (pair) fmt::print("token_type_ids: {}\n", joined(encoding.token_type_ids));
}

int run_tokenize(const TokenizeArguments& args) {
  ATTEND_CHECK(
      !args.model.empty(), ValueError,
      "no model directory: scripts/setup installs all-MiniLM-L6-v2 into the data directory, or set ATTEND_MINILM, "
      "or pass --model DIR (attend info shows where it was looked for)");
  const text::BertTokenizer tokenizer = text::BertTokenizer::from_directory(args.model);
  const text::EncodeOptions options = encode_options(args);
  if (args.from_stdin) {
    ATTEND_CHECK(args.texts.empty(), ValueError, "--stdin reads the texts from standard input; give no TEXT too");
    tokenize_lines(tokenizer, options, args.pair, std::cin, std::cout, std::cerr);
    return 0;
  }
  ATTEND_CHECK(!args.texts.empty(), ValueError, "give a TEXT to tokenize, or --stdin");
  ATTEND_CHECK(!args.pair || args.texts.size() % 2 == 0, ValueError,
               "--pair takes the texts two at a time (A B ...); {} is an odd count", args.texts.size());
  const size_t step = args.pair ? 2 : 1;
  for (size_t i = 0; i < args.texts.size(); i += step) {
    const std::string name = fmt::format("text {}", i + 1);
    const auto encoding = encode_one(tokenizer, options, args.texts[i], args.pair ? &args.texts[i + 1] : nullptr, name);
    if (const std::string warning = truncation_warning(encoding, name); !warning.empty()) {
      std::cerr << warning << std::endl;
    }
    if (args.json) {
      std::cout << encoding_json(encoding).dump() << "\n";
    } else {
      print_text(encoding, args.pair);
    }
  }
  return 0;
}

}  // namespace

nlohmann::json encoding_json(const text::Encoding& encoding) {
  return {{"ids", encoding.ids},
          {"token_type_ids", encoding.token_type_ids},
          {"attention_mask", encoding.attention_mask},
          {"tokens", encoding.tokens},
          {"truncated", encoding.truncated}};
}

std::string truncation_warning(const text::Encoding& encoding, const std::string& input_name) {
  if (!encoding.truncated) return "";
  return fmt::format("attend: warning: {} was cut from {} to {} tokens (--truncate, longest first)", input_name,
                     encoding.untruncated_length, encoding.ids.size());
}

int64_t tokenize_lines(const text::BertTokenizer& tokenizer, const text::EncodeOptions& options, bool pair,
                       std::istream& in, std::ostream& out, std::ostream& warnings) {
  int64_t line_number = 0, written = 0;
  std::string first, second;
  // Each line must be text: a NUL byte (binary input) or bytes that are not UTF-8 are refused
  // with the line's number, not dropped or read as U+FFFD.
  const auto check_text = [](const std::string& line, int64_t number) {
    ATTEND_CHECK(line.find('\0') == std::string::npos, ValueError,
                 "standard input line {} has a NUL byte: it is not text", number);
    const size_t bad = invalid_utf8_offset(line);
    ATTEND_CHECK(bad == std::string::npos, ValueError,
                 "standard input line {} is not valid UTF-8 (byte {} is 0x{:02x})", number, bad + 1,
                 static_cast<unsigned char>(line[bad == std::string::npos ? 0 : bad]));
  };
  while (std::getline(in, first)) {
    ++line_number;
    check_text(first, line_number);
    std::string name = fmt::format("line {}", line_number);
    if (pair) {
      ATTEND_CHECK(static_cast<bool>(std::getline(in, second)), ValueError,
                   "--pair --stdin reads two lines per pair; line {} is the last and has no partner", line_number);
      ++line_number;
      check_text(second, line_number);
      name = fmt::format("lines {}-{}", line_number - 1, line_number);
    }
    const auto encoding = encode_one(tokenizer, options, first, pair ? &second : nullptr, name);
    if (const std::string warning = truncation_warning(encoding, name); !warning.empty()) warnings << warning << "\n";
    out << encoding_json(encoding).dump() << "\n";
    ++written;
  }
  return written;
}

CommandRunner add_tokenize_command(CLI::App& app) {
  auto args = std::make_shared<TokenizeArguments>();
  CLI::App* command =
      app.add_subcommand("tokenize", "BERT word pieces and ids of texts (a Hugging Face BERT model's vocab.txt)");
  command->add_option("text", args->texts, "the texts (UTF-8; with --pair: A B, two at a time)")->check(utf8_text());
  command->add_option("--model", args->model, "a model directory with vocab.txt and tokenizer_config.json")
      ->capture_default_str();
  command->add_flag("--pair", args->pair, "encode the texts as pairs: [CLS] A [SEP] B [SEP], token_type_ids 0 then 1");
  CLI::Option* max_length = command
                                ->add_option("--max-length", args->max_length,
                                             "refuse an encoding longer than this (special tokens included)")
                                ->check(integer_in(1, 1'000'000'000));
  command->add_flag("--truncate", args->truncate, "cut longer encodings to --max-length (longest first) and warn")
      ->needs(max_length);
  command->add_flag("--json", args->json, "one JSON object per text: ids, token_type_ids, attention_mask, tokens");
  command->add_flag("--stdin", args->from_stdin,
                    "read one text per line (two per pair with --pair) and write one JSON line each");
  return [command, args] { return command->parsed() ? run_tokenize(*args) : -1; };
}

}  // namespace attend::tools
