#include "attend/decoder/chat_template.h"

namespace attend::decoder {
namespace {

// The templates attend recognizes, by their exact text, with the default system prompt each adds.
struct KnownTemplate {
  std::string_view text;
  std::string_view default_system;
};

constexpr KnownTemplate kKnown[] = {
    // SmolLM2-Instruct (HuggingFaceTB)
    {"{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
     "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' "
     "+ message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
     "{{ '<|im_start|>assistant\n' }}{% endif %}",
     "You are a helpful AI assistant named SmolLM, trained by Hugging Face"},
    // Plain ChatML
    {"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + "
     "'\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
     ""},
};

void check_message(const ChatMessage& message) {
  ATTEND_CHECK(message.role == "system" || message.role == "user" || message.role == "assistant", ValueError,
               "chat: the role '{}' is not system, user or assistant", message.role);
  for (const char* marker : {"<|im_start|>", "<|im_end|>"}) {
    ATTEND_CHECK(message.content.find(marker) == std::string::npos, ValueError,
                 "chat: a {} message holds '{}', which would end it early", message.role, marker);
  }
}

}  // namespace

ChatTemplate ChatTemplate::from_file(const gguf::File& file) {
  if (file.find("tokenizer.chat_template") == nullptr) {
    fail<gguf::FormatError>("'{}' has no chat template (tokenizer.chat_template)", file.path());
  }
  const std::string& text = file.string("tokenizer.chat_template");
  for (const KnownTemplate& known : kKnown) {
    if (text == known.text) {
      ChatTemplate chat;
      chat.default_system_ = known.default_system;
      return chat;
    }
  }
  fail<gguf::FormatError>("'{}': its chat template is not one attend knows (ChatML); it begins '{}'", file.path(),
                          text.substr(0, 80));
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  ATTEND_CHECK(!messages.empty(), ValueError, "chat: no messages");
  std::string prompt;
  if (!default_system_.empty() && messages.front().role != "system") {
    prompt += "<|im_start|>system\n" + default_system_ + end_of_message_;
  }
  for (const ChatMessage& message : messages) {
    check_message(message);
    prompt += "<|im_start|>" + message.role + "\n" + message.content + end_of_message_;
  }
  if (add_generation_prompt) prompt += "<|im_start|>assistant\n";
  return prompt;
}

}  // namespace attend::decoder
