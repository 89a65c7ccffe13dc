#include "sampling_flags.h"

#include "cli_checks.h"

namespace attend::tools {

void add_sampling_options(CLI::App* command, decoder::GenerationOptions& options) {
  auto& s = options.sampling;
  s.temperature = 0.8f;
  s.top_k = 40;
  s.top_p = 0.95f;
  s.min_p = 0.05f;
  command->add_option("--max-tokens", options.max_tokens, "new tokens at most")
      ->check(integer_in(1, 1 << 20))
      ->capture_default_str();
  command->add_option("--temperature", s.temperature, "0 is greedy (arg-max)")->capture_default_str();
  command->add_option("--top-k", s.top_k, "keep the K most probable tokens (0: all)")->capture_default_str();
  command->add_option("--top-p", s.top_p, "keep the most probable tokens up to this mass, in (0, 1]")
      ->capture_default_str();
  command->add_option("--min-p", s.min_p, "keep tokens at least this fraction of the most probable's, in [0, 1]")
      ->capture_default_str();
  command->add_option("--repeat-penalty", s.repeat_penalty, "CTRL's penalty on recent tokens (1: off)")
      ->capture_default_str();
  command->add_option("--frequency-penalty", s.frequency_penalty, "OpenAI's, per occurrence")->capture_default_str();
  command->add_option("--presence-penalty", s.presence_penalty, "OpenAI's, once per token present")
      ->capture_default_str();
  command->add_option("--penalty-last-n", s.penalty_last_n, "how many recent tokens the penalties see")
      ->check(integer_in(0, 1 << 20))
      ->capture_default_str();
  command->add_option("--seed", s.seed, "the same seed gives the same text")
      ->check(unsigned_integer())
      ->capture_default_str();
  command->add_option("--stop", options.stops, "stop before this text (repeatable)")->check(utf8_text());
  command->add_flag("--ignore-eos", options.ignore_end_of_turn,
                    "go on past the end-of-turn tokens until --max-tokens (benchmarks)");
}

}  // namespace attend::tools
