// Chat prompts in the format the model was trained on, as its GGUF file's tokenizer.chat_template
// (a Jinja template) defines it. attend does not run Jinja: it recognizes the templates it
// knows, by their exact text, and renders them itself; any other template is refused with a
// clear error rather than guessed. Known today, ChatML (OpenAI's, used by SmolLM2 and Qwen):
//
//   <|im_start|>system\n{default system prompt}<|im_end|>\n   (SmolLM2's, when the first message is not "system")
//   <|im_start|>{role}\n{content}<|im_end|>\n                  for each message
//   <|im_start|>assistant\n                                    when a reply is wanted
#pragma once

#include <string>
#include <vector>

#include "attend/gguf/gguf_file.h"

namespace attend::decoder {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

class ChatTemplate {
 public:
  // The template of `file` (tokenizer.chat_template); gguf::FormatError naming the file when it
  // has none or one attend does not recognize.
  static ChatTemplate from_file(const gguf::File& file);

  // The prompt for `messages`, ending with the assistant's header when add_generation_prompt.
  // ValueError on an empty list, an unknown role, or content holding the format's markers.
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt = true) const;
  // What closes a message: "<|im_end|>\n".
  const std::string& end_of_message() const { return end_of_message_; }
  const std::string& default_system() const { return default_system_; }

 private:
  std::string default_system_;  // empty: none
  std::string end_of_message_ = "<|im_end|>\n";
};

}  // namespace attend::decoder
