#include "generate_command.h"

#include "decoder_model_flags.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attend/bpe/gguf_vocabulary.h"
#include "attend/core/memory.h"
#include "attend/core/utf8.h"
#include "attend/io/atomic_file.h"
#include "attend/decoder/chat_template.h"
#include "attend/decoder/generation.h"
#include "cli_checks.h"
#include "embed_command.h"
#include "sampling_flags.h"

namespace attend::tools {
namespace {

struct GenerateArguments {
  DecoderModelFlags model;
  std::string prompt;
  std::string prompt_file;
  decoder::GenerationOptions options;
  bool chat = false;
  std::string system;
  bool no_stream = false;
  bool json = false;
  bool logprobs = false;
};

// The resident set now and at its peak (VmRSS, VmHWM of /proc/self/status), in MB.
std::pair<double, double> resident_megabytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  double now = 0, peak = 0;
  while (status >> key) {
    if (key == "VmRSS:") status >> now;
    if (key == "VmHWM:") status >> peak;
  }
  return {now / 1024, peak / 1024};
}

std::string prompt_text(const GenerateArguments& args, const decoder::LlamaModel& model) {
  if (!args.chat) return args.prompt;
  std::vector<decoder::ChatMessage> messages;
  if (!args.system.empty()) messages.push_back({"system", args.system});
  messages.push_back({"user", args.prompt});
  return decoder::ChatTemplate::from_file(model.file()).render(messages);
}

nlohmann::json result_json(const decoder::GenerationResult& result, const std::vector<double>& logprobs,
                           bool with_logprobs) {
  nlohmann::json out{{"text", result.text},
                     {"tokens", result.tokens},
                     {"finish_reason", result.finish_reason},
                     {"usage", {{"prompt_tokens", result.prompt_tokens}, {"completion_tokens", result.tokens.size()}}}};
  if (with_logprobs) out["logprobs"] = logprobs;
  return out;
}

int run_generate(GenerateArguments args) {
  ATTEND_CHECK(args.system.empty() || args.chat, ValueError, "--system needs --chat");
  ATTEND_CHECK(args.prompt.empty() != args.prompt_file.empty(), ValueError,
               "give either PROMPT or --prompt-file, not {}", args.prompt.empty() ? "neither" : "both");
  if (!args.prompt_file.empty()) args.prompt = read_text_file(args.prompt_file);
  args.options.sampling.want_logprobs = args.logprobs;
  keep_freed_memory_for_reuse();  // every step frees and allocates activations of like sizes
  const auto start = std::chrono::steady_clock::now();
  const decoder::LlamaModel model = load_decoder_model(args.model);
  const bpe::BpeTokenizer tokenizer(bpe::load_bpe_vocabulary(model.file()));
  const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::vector<int32_t> prompt = tokenizer.encode(prompt_text(args, model));
  decoder::KvCache cache = model.new_cache(static_cast<int64_t>(prompt.size()) + args.options.max_tokens);
  const bool stream = !args.no_stream && !args.json;
  std::vector<double> logprobs;
  const auto sink = [&](const decoder::GeneratedToken& token) {
    if (token.id >= 0) logprobs.push_back(token.logprob);
    if (stream) {
      std::cout << token.text << std::flush;
      return !std::cout.fail();  // a closed pipe ends the generation
    }
    return true;
  };
  const decoder::GenerationResult result = decoder::generate(model, tokenizer, cache, prompt, args.options, sink);
  if (args.json) {
    std::cout << result_json(result, logprobs, args.logprobs).dump() << "\n";
  } else {
    std::cout << (stream ? "" : result.text) << "\n";
  }
  const auto [resident, peak] = resident_megabytes();
  std::cerr << fmt::format(
      "attend: {} prompt tokens in {:.3f} s ({:.1f} tokens/s), {} new tokens in {:.3f} s ({:.1f} tokens/s), "
      "finish: {}; model loaded in {:.2f} s, resident memory {:.0f} MB (peak {:.0f} MB)\n",
      result.prompt_tokens, result.prefill_seconds, result.prompt_tokens / std::max(result.prefill_seconds, 1e-9),
      result.tokens.size(), result.decode_seconds,
      static_cast<double>(result.tokens.size()) / std::max(result.decode_seconds, 1e-9), result.finish_reason,
      load_seconds, resident, peak);
  return 0;
}

}  // namespace

CommandRunner add_generate_command(CLI::App& app) {
  auto args = std::make_shared<GenerateArguments>();
  CLI::App* command =
      app.add_subcommand("generate", "text from a decoder language model (default: the shipped SmolLM2)");
  command->add_option("prompt", args->prompt, "the prompt (UTF-8; default: none, then --prompt-file)")
      ->check(utf8_text());
  command
      ->add_option("--prompt-file", args->prompt_file,
                   "read the prompt from a file (UTF-8; default: none, the PROMPT argument)")
      ->check(CLI::ExistingFile);
  add_decoder_model_options(command, args->model);
  add_sampling_options(command, args->options);
  command->add_flag("--chat", args->chat, "wrap the prompt as a user message in the model's chat template");
  command->add_option("--system", args->system, "a system message (with --chat; default: the template's own, if any)")
      ->check(utf8_text());
  command->add_flag("--no-stream", args->no_stream, "print the text at the end instead of token by token");
  command->add_flag("--json", args->json, "print one JSON object: text, tokens, finish_reason, usage");
  command->add_flag("--logprobs", args->logprobs, "with --json: the model's log-probability of each token");
  return [command, args] { return command->parsed() ? run_generate(*args) : -1; };
}

}  // namespace attend::tools
