// `attend perplexity [--model FILE.gguf] --file TEXT [--context N] [--stride S]`: the perplexity of
// a text file under a decoder (decoder/perplexity.h), with its token and window counts.
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "attend/bpe/gguf_vocabulary.h"
#include "attend/core/memory.h"
#include "attend/core/utf8.h"
#include "attend/decoder/perplexity.h"
#include "attend/io/atomic_file.h"
#include "decoder_model_flags.h"
#include "cli_checks.h"
#include "embed_command.h"
#include "commands.h"

namespace attend::tools {
namespace {

struct PerplexityArguments {
  DecoderModelFlags model;
  std::string file;
  decoder::PerplexityOptions options;
};

int run_perplexity(const PerplexityArguments& args) {
  keep_freed_memory_for_reuse();
  const decoder::LlamaModel model = load_decoder_model(args.model);
  const bpe::BpeTokenizer tokenizer(bpe::load_bpe_vocabulary(model.file()));
  const std::vector<int32_t> tokens = tokenizer.encode(read_text_file(args.file));
  const auto start = std::chrono::steady_clock::now();
  const decoder::PerplexityResult result = decoder::perplexity(model, tokens, args.options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("perplexity {:.4f} ({:.4f} nats a token) over {} of {} tokens, {} windows of {} (stride {})\n",
             result.perplexity, result.mean_negative_log_likelihood, result.scored_tokens, tokens.size(),
             result.windows, args.options.context, args.options.stride);
  std::cerr << fmt::format("attend: {:.2f} s\n", seconds);
  return 0;
}

}  // namespace

CommandRunner add_perplexity_command(CLI::App& app) {
  auto args = std::make_shared<PerplexityArguments>();
  CLI::App* command = app.add_subcommand("perplexity", "the perplexity of a text under a decoder language model");
  command->add_option("--file", args->file, "the text (UTF-8)")->required()->check(CLI::ExistingFile);
  add_decoder_model_options(command, args->model);
  command->add_option("--context", args->options.context, "tokens a window holds")
      ->check(integer_in(2, 1 << 20))
      ->capture_default_str();
  command->add_option("--stride", args->options.stride, "tokens between window starts (at most --context)")
      ->check(integer_in(1, 1 << 20))
      ->capture_default_str();
  return [command, args] { return command->parsed() ? run_perplexity(*args) : -1; };
}

}  // namespace attend::tools
