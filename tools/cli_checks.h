// Validators for the command line's numbers, and the message for a command that does not exist.
//
// CLI11 2.1 converts "99999999999999999999" to INT64_MAX and "-1" to 2^64 - 1 for an unsigned
// option without a word, and its PositiveNumber check prints its range as 308-digit numbers.
// These validators read the option's text themselves (std::from_chars: no sign for unsigned
// types, overflow reported) before CLI11 converts it, and name the accepted range.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace attend::tools {

// Upper bounds of the commands' counts: far above any real run, low enough that a typo fails at
// once instead of allocating until memory is gone.
inline constexpr int64_t kMaxSteps = 1'000'000'000;
inline constexpr int64_t kMaxWords = 10'000'000;  // the CMU dictionary has 135,000
inline constexpr int64_t kMaxG2PBatch = 65'536;
inline constexpr int64_t kMaxImageBatch = 55'000;  // the Fashion-MNIST training split
inline constexpr int64_t kMaxBeam = 256;
inline constexpr int64_t kMaxWidth = 65'536;
inline constexpr int64_t kMaxHeads = 1'024;
inline constexpr int64_t kMaxLayers = 1'024;

// A whole number in [minimum, maximum], written without a fraction, exponent or '+'.
CLI::Validator integer_in(int64_t minimum, int64_t maximum);

// A seed: a whole number in [0, 2^64 - 1]; a sign is refused rather than wrapped.
CLI::Validator unsigned_integer();

// A finite real number above zero (learning rates), or at least zero (times, weight decay).
CLI::Validator positive_real();
CLI::Validator non_negative_real();

// Text given on the command line must be well-formed UTF-8 (core/utf8.h): a stray byte is refused
// with the argument and its offset, never dropped or read as U+FFFD behind the user's back.
CLI::Validator utf8_text();

// Throws ValueError, before any data set is read, when --out names a file or a path below one
// (the Trainer would otherwise fail with a raw filesystem error only after loading the data).
void check_output_directory(const std::string& out_dir);

// `text` with what a terminal would act on or cannot show written as \xNN: control characters
// (an ESC sequence in a word must not reach the terminal), DEL, and bytes that are not part of
// well-formed UTF-8 (a lone 0xC3 cut from 'é'). Newlines and tabs stay.
std::string escape_for_terminal(const std::string& text);

// --help shows each option's default once: an option whose description says "(default: ...)"
// (a computed default, such as "all cores", behind a placeholder value like 0) does not also
// show the placeholder. Applies to `app` and every command below it.
void hide_placeholder_defaults(CLI::App& app);

// Calls fn on every command below `app` that has no subcommands of its own (attend's leaves:
// `info`, `train g2p`, ...).
void for_each_command(CLI::App& app, const std::function<void(CLI::App&)>& fn);

// Parses argv into `app`. An unknown command (`attend frobnicate`, `attend train frobnicate`)
// is reported as such with the commands that exist, instead of CLI11's "A subcommand is
// required". Returns -1 when parsing succeeded, else the exit status to return from main.
int parse_command_line(CLI::App& app, int argc, char** argv);

}  // namespace attend::tools
