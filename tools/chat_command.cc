// `attend chat [--model FILE.gguf] [--system TEXT] [sampling options]`: a conversation over the
// terminal (or piped stdin: one user message a line). The conversation stays in the model's
// cache: each turn feeds only its new tokens, the end of the previous reply and the new
// message in the chat template. "/reset" starts over, "/quit" or the end of input ends.
#include <unistd.h>

#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "attend/bpe/gguf_vocabulary.h"
#include "attend/core/memory.h"
#include "attend/core/utf8.h"
#include "attend/decoder/chat_template.h"
#include "decoder_model_flags.h"
#include "cli_checks.h"
#include "commands.h"
#include "sampling_flags.h"

namespace attend::tools {
namespace {

struct ChatArguments {
  DecoderModelFlags model;
  std::string system;
  decoder::GenerationOptions options;
};

class Conversation {
 public:
  Conversation(const decoder::LlamaModel& model, const bpe::BpeTokenizer& tokenizer, const ChatArguments& args)
      : model_(model),
        tokenizer_(tokenizer),
        chat_(decoder::ChatTemplate::from_file(model.file())),
        args_(args),
        cache_(model.new_cache(1024)) {}

  void reset() {
    cache_.truncate(0);
    unfed_.clear();
  }

  // The reply to `message`, streamed to stdout; false when stdout cannot be written.
  bool reply(const std::string& message) {
    std::vector<decoder::ChatMessage> turn;
    if (cache_.length() == 0 && !args_.system.empty()) turn.push_back({"system", args_.system});
    turn.push_back({"user", message});
    // A later turn closes the previous reply first; the template's own opening comes only once.
    const std::string text = (cache_.length() == 0 ? "" : chat_.end_of_message()) +
                             (cache_.length() == 0 ? chat_.render(turn) : render_without_system(turn));
    std::vector<int32_t> prompt = unfed_;
    const std::vector<int32_t> ids = tokenizer_.encode(text);
    prompt.insert(prompt.end(), ids.begin(), ids.end());
    bool written = true;
    const auto sink = [&](const decoder::GeneratedToken& token) {
      std::cout << token.text << std::flush;
      written = !std::cout.fail();
      return written;
    };
    auto options = args_.options;
    options.sampling.seed += turns_++;  // each turn its own draws, the same on every run
    const decoder::GenerationResult result = decoder::generate(model_, tokenizer_, cache_, prompt, options, sink);
    unfed_.assign(result.tokens.begin() + result.tokens_in_cache, result.tokens.end());
    std::cout << "\n" << std::flush;
    return written && !std::cout.fail();
  }

 private:
  std::string render_without_system(const std::vector<decoder::ChatMessage>& turn) const {
    std::string text;
    for (const auto& message : turn) text += chat_.render({message}, false).substr(system_prefix_length(message));
    return text + "<|im_start|>assistant\n";
  }
  // The default system block render() puts before a first message that is not a system one.
  size_t system_prefix_length(const decoder::ChatMessage& message) const {
    return chat_.default_system().empty() || message.role == "system"
               ? 0
               : chat_.render({{"system", chat_.default_system()}}, false).size();
  }

  const decoder::LlamaModel& model_;
  const bpe::BpeTokenizer& tokenizer_;
  decoder::ChatTemplate chat_;
  const ChatArguments& args_;
  decoder::KvCache cache_;
  std::vector<int32_t> unfed_;  // reply tokens chosen but not yet in the cache
  uint64_t turns_ = 0;
};

int run_chat(const ChatArguments& args) {
  keep_freed_memory_for_reuse();
  const decoder::LlamaModel model = load_decoder_model(args.model);
  const bpe::BpeTokenizer tokenizer(bpe::load_bpe_vocabulary(model.file()));
  Conversation conversation(model, tokenizer, args);
  const bool interactive = ::isatty(STDIN_FILENO);
  if (interactive) std::cerr << "attend chat: one message a line; /reset starts over, /quit or Ctrl-D ends\n";
  std::string line;
  while (true) {
    if (interactive) std::cerr << "> " << std::flush;
    if (!std::getline(std::cin, line) || line == "/quit") break;
    if (line.empty()) continue;
    if (line == "/reset") {
      conversation.reset();
      continue;
    }
    ATTEND_CHECK(is_utf8(line) && line.find('\0') == std::string::npos, ValueError, "the message is not UTF-8 text");
    if (!conversation.reply(line)) break;
  }
  return 0;
}

}  // namespace

CommandRunner add_chat_command(CLI::App& app) {
  auto args = std::make_shared<ChatArguments>();
  CLI::App* command = app.add_subcommand("chat", "a conversation with a decoder language model over the terminal");
  add_decoder_model_options(command, args->model);
  command->add_option("--system", args->system, "a system message (default: the template's own, if any)")
      ->check(utf8_text());
  add_sampling_options(command, args->options);
  return [command, args] { return command->parsed() ? run_chat(*args) : -1; };
}

}  // namespace attend::tools
