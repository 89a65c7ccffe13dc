#include "cli_checks.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <system_error>

#include <filesystem>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/core/utf8.h"

namespace attend::tools {
namespace {

// The number in `text`, or an error message. Whole text or nothing: "12abc" is refused.
template <typename Integer>
std::string parse_whole(const std::string& text, Integer& value) {
  const char* first = text.data();
  const char* last = first + text.size();
  const auto [end, error] = std::from_chars(first, last, value);
  if (error == std::errc::result_out_of_range)
    return fmt::format("{} does not fit in {} bits", text, sizeof(Integer) * 8);
  if (error != std::errc() || end != last) return fmt::format("{} is not a whole number", text);
  return {};
}

// The deepest subcommand that was named on the command line (the app itself when none was).
CLI::App* deepest_parsed(CLI::App* app) {
  for (CLI::App* sub : app->get_subcommands()) {
    if (sub->parsed()) return deepest_parsed(sub);
  }
  return app;
}

std::string command_names(const CLI::App& app) {
  std::string names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return names;
}

}  // namespace

CLI::Validator integer_in(int64_t minimum, int64_t maximum) {
  const std::string range = fmt::format("an integer in [{}, {}]", minimum, maximum);
  return CLI::Validator(
      [minimum, maximum, range](std::string& text) -> std::string {
        int64_t value = 0;
        if (std::string error = parse_whole(text, value); !error.empty()) return error + "; expected " + range;
        if (value < minimum || value > maximum) return fmt::format("{} is outside [{}, {}]", value, minimum, maximum);
        return {};
      },
      range);
}

CLI::Validator unsigned_integer() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        uint64_t value = 0;
        if (std::string error = parse_whole(text, value); !error.empty()) {
          return error + "; expected an integer in [0, 18446744073709551615]";
        }
        return {};
      },
      "an integer in [0, 2^64 - 1]");
}

namespace {

CLI::Validator real_above(double minimum, bool allow_minimum, const std::string& description) {
  return CLI::Validator(
      [minimum, allow_minimum, description](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value)) {
          return fmt::format("{} is not a finite number; expected {}", text, description);
        }
        if (value < minimum || (!allow_minimum && value == minimum)) {
          return fmt::format("{} is not {}", text, description);
        }
        return {};
      },
      description);
}

}  // namespace

CLI::Validator positive_real() { return real_above(0.0, false, "a number above 0"); }

CLI::Validator non_negative_real() { return real_above(0.0, true, "a number of at least 0"); }

void check_output_directory(const std::string& out_dir) {
  if (out_dir.empty()) return;
  namespace fs = std::filesystem;
  // The nearest part of the path that exists must be a directory; what is below it gets made.
  for (fs::path part = fs::absolute(out_dir); !part.empty(); part = part.parent_path()) {
    std::error_code error;
    const fs::file_status status = fs::status(part, error);
    if (!fs::exists(status)) {
      if (part == part.parent_path()) break;
      continue;
    }
    ATTEND_CHECK(fs::is_directory(status), ValueError, "--out '{}': '{}' is {}, not a directory", out_dir,
                 part.string(), fs::is_regular_file(status) ? "a file" : "not a directory");
    return;
  }
}

CLI::Validator utf8_text() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        const size_t bad = invalid_utf8_offset(value);
        if (bad == std::string::npos) return "";
        return fmt::format("'{}' is not valid UTF-8 (byte {} is 0x{:02x}); attend reads text as UTF-8",
                           escape_for_terminal(value), bad + 1, static_cast<unsigned char>(value[bad]));
      },
      "UTF-8");
}

std::string escape_for_terminal(const std::string& text) {
  std::string escaped;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      const bool shown = (c >= 0x20 && c != 0x7F) || c == '\n' || c == '\t';
      escaped += shown ? std::string(1, static_cast<char>(c)) : fmt::format("\\x{:02x}", c);
      ++i;
    } else if (const size_t length = utf8_sequence_length(text, i); length > 0) {
      escaped.append(text, i, length);
      i += length;
    } else {
      escaped += fmt::format("\\x{:02x}", c);
      ++i;
    }
  }
  return escaped;
}

void hide_placeholder_defaults(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    if (option->get_description().find("(default:") != std::string::npos) option->default_str("");
  }
  for (CLI::App* command : app.get_subcommands([](CLI::App*) { return true; })) hide_placeholder_defaults(*command);
}

void for_each_command(CLI::App& app, const std::function<void(CLI::App&)>& fn) {
  for (CLI::App* command : app.get_subcommands([](CLI::App*) { return true; })) {
    if (command->get_subcommands([](CLI::App*) { return true; }).empty()) {
      fn(*command);
    } else {
      for_each_command(*command, fn);
    }
  }
}

int parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::RequiredError& error) {
    CLI::App* parent = deepest_parsed(&app);
    const std::vector<std::string> unknown = parent->remaining();
    if (unknown.empty() || parent->get_subcommands([](const CLI::App*) { return true; }).empty()) {
      return app.exit(error);
    }
    const std::string path = parent == &app ? std::string() : parent->get_name() + " ";
    std::fprintf(stderr, "attend: unknown command '%s'; the commands are: %s (see --help)\n",
                 escape_for_terminal(path + unknown.front()).c_str(), command_names(*parent).c_str());
    return static_cast<int>(CLI::ExitCodes::ExtrasError);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);  // --help
    // CLI11 echoes the option's value as it came: escape it like every other message.
    std::fprintf(stderr, "%s\nRun with --help for more information.\n", escape_for_terminal(error.what()).c_str());
    return error.get_exit_code();
  }
  return -1;
}

}  // namespace attend::tools
