// Generation on SmolLM2: the same seed gives the same tokens at 1 and 2 threads, a stop string
// ends the text before it, the end of a turn is not fed to the cache, bad requests are refused;
// and the chat template: SmolLM2's rendered as transformers renders it, unknown ones refused.
#include <gtest/gtest.h>

#include <filesystem>

#include "attend/bpe/gguf_vocabulary.h"
#include "attend/core/parallel.h"
#include "attend/decoder/chat_template.h"
#include "attend/decoder/generation.h"
#include "gguf/gguf_bytes.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"

namespace attend::decoder {
namespace {

struct Loaded {
  LlamaModel model;
  bpe::BpeTokenizer tokenizer;
};

const Loaded* loaded() {
  static const Loaded* model = [] {
    const std::string path = default_model_path();
    if (!std::filesystem::exists(path)) return static_cast<Loaded*>(nullptr);
    LlamaModel llama = LlamaModel::load(path);
    bpe::BpeTokenizer tokenizer(bpe::load_bpe_vocabulary(llama.file()));
    return new Loaded{std::move(llama), std::move(tokenizer)};
  }();
  return model;
}

#define REQUIRE_MODEL() \
  if (loaded() == nullptr) GTEST_SKIP() << "no SmolLM2 GGUF (run scripts/setup)"

GenerationResult run(const std::string& text, const GenerationOptions& options, int threads = 2) {
  ThreadCountGuard guard(threads);
  KvCache cache = loaded()->model.new_cache();
  const std::vector<int32_t> prompt = loaded()->tokenizer.encode(text);
  GenerationResult result = generate(loaded()->model, loaded()->tokenizer, cache, prompt, options);
  EXPECT_EQ(cache.length(), static_cast<int64_t>(prompt.size()) + result.tokens_in_cache);
  return result;
}

TEST(Generation, SameSeedSameTokensAtAnyThreadCount) {
  REQUIRE_MODEL();
  GenerationOptions options;
  options.max_tokens = 24;
  options.sampling.temperature = 0.9f;
  options.sampling.top_p = 0.95f;
  options.sampling.seed = 42;
  const GenerationResult one = run("Once upon a time", options, 1);
  EXPECT_EQ(run("Once upon a time", options, 2).tokens, one.tokens);
  options.sampling.seed = 43;
  EXPECT_NE(run("Once upon a time", options, 2).tokens, one.tokens);
  EXPECT_EQ(one.finish_reason, "length");
  EXPECT_EQ(one.tokens.size(), 24u);
  EXPECT_EQ(one.text, loaded()->tokenizer.decode(one.tokens));
}

TEST(Generation, StopStringsAndTheEndOfATurn) {
  REQUIRE_MODEL();
  GenerationOptions options;
  options.sampling.temperature = 0;
  options.max_tokens = 16;
  options.stops = {"."};
  const GenerationResult stopped = run("The capital of France is", options);
  EXPECT_EQ(stopped.text, " Paris");
  EXPECT_EQ(stopped.finish_reason, "stop");
  options.stops.clear();
  options.max_tokens = 64;
  const std::string prompt =
      ChatTemplate::from_file(loaded()->model.file()).render({{"user", "What is 2+2? Answer in one sentence."}});
  const GenerationResult turn = run(prompt, options);
  EXPECT_EQ(turn.finish_reason, "stop");  // <|im_end|>, not fed
  EXPECT_EQ(turn.tokens_in_cache, static_cast<int64_t>(turn.tokens.size()));
  EXPECT_NE(turn.text.find('4'), std::string::npos) << turn.text;
}

TEST(Generation, RefusesBadRequests) {
  REQUIRE_MODEL();
  KvCache cache = loaded()->model.new_cache();
  GenerationOptions options;
  options.max_tokens = 0;
  const std::vector<int32_t> prompt{1, 2};
  expect_error<ValueError>([&] { generate(loaded()->model, loaded()->tokenizer, cache, prompt, options); },
                           {"max_tokens must be at least 1, got 0"});
  options.max_tokens = 4;
  expect_error<ValueError>([&] { generate(loaded()->model, loaded()->tokenizer, cache, {}, options); },
                           {"the prompt has no tokens"});
  const std::vector<int32_t> too_long(static_cast<size_t>(loaded()->model.config().context_length), 1);
  expect_error<ValueError>([&] { generate(loaded()->model, loaded()->tokenizer, cache, too_long, options); },
                           {"the prompt has 8192 tokens, but the model's context of 8192"});
  EXPECT_EQ(cache.length(), 0);
}

// Continuous batching: sequences with different prompts, options and lengths, joining the batch
// at different steps and leaving it when they finish, get each the tokens and text they get alone.
TEST(Generation, SequencesInOneBatchGetTheirTokensAlone) {
  REQUIRE_MODEL();
  const Loaded& m = *loaded();
  struct Request {
    std::string prompt;
    GenerationOptions options;
    int64_t joins_at_step;
  };
  std::vector<Request> requests(4);
  requests[0] = {"Once upon a time", {}, 0};
  requests[0].options.max_tokens = 12;
  requests[0].options.sampling.seed = 7;
  requests[1] = {"The capital of France is", {}, 0};
  requests[1].options.max_tokens = 20;
  requests[1].options.sampling.temperature = 0;
  requests[1].options.stops = {"."};
  requests[2] = {"A list of fruits: apple, banana,", {}, 3};
  requests[2].options.max_tokens = 9;
  requests[2].options.sampling.top_k = 20;
  requests[2].options.sampling.seed = 11;
  requests[3] = {"Hello", {}, 5};
  requests[3].options.max_tokens = 6;
  requests[3].options.sampling.temperature = 0.7f;
  requests[3].options.top_logprobs = 3;
  std::vector<KvCache> caches;
  for (size_t i = 0; i < requests.size(); ++i) caches.push_back(m.model.new_cache(8));  // grows while batched
  std::vector<std::vector<int32_t>> prompts;
  for (const Request& r : requests) prompts.push_back(m.tokenizer.encode(r.prompt));
  std::vector<std::unique_ptr<SequenceGeneration>> sequences(requests.size());
  std::vector<std::vector<GeneratedToken>> streamed(requests.size());
  for (int64_t step = 0; step < 64; ++step) {
    std::vector<SequenceGeneration*> active;
    for (size_t i = 0; i < requests.size(); ++i) {
      if (requests[i].joins_at_step == step) {
        sequences[i] = std::make_unique<SequenceGeneration>(m.model.config(), m.tokenizer, caches[i], prompts[i],
                                                            requests[i].options);
      }
      if (sequences[i] && !sequences[i]->finished()) active.push_back(sequences[i].get());
    }
    run_model_inputs(m.model, active);
    for (size_t i = 0; i < requests.size(); ++i) {
      if (!sequences[i]) continue;
      while (sequences[i]->model_input().empty()) {
        const std::optional<GeneratedToken> token = sequences[i]->next();
        if (!token) break;
        streamed[i].push_back(*token);
      }
    }
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSERT_TRUE(sequences[i]->finished()) << i;
    const GenerationResult alone = run(requests[i].prompt, requests[i].options);
    EXPECT_EQ(sequences[i]->result().tokens, alone.tokens) << i;
    EXPECT_EQ(sequences[i]->result().text, alone.text) << i;
    EXPECT_EQ(sequences[i]->result().finish_reason, alone.finish_reason) << i;
    EXPECT_EQ(caches[i].length(), static_cast<int64_t>(prompts[i].size()) + alone.tokens_in_cache) << i;
    std::string text;
    for (const GeneratedToken& t : streamed[i]) text += t.text;
    EXPECT_EQ(text, alone.text) << i;
  }
  EXPECT_EQ(sequences[1]->result().text, " Paris");
  // top_logprobs: three alternatives a token, most probable first, log-probabilities <= 0.
  for (const GeneratedToken& t : streamed[3]) {
    if (t.id < 0) continue;
    ASSERT_EQ(t.top_logprobs.size(), 3u);
    EXPECT_GE(t.top_logprobs[0].second, t.top_logprobs[1].second);
    EXPECT_GE(t.top_logprobs[1].second, t.top_logprobs[2].second);
    EXPECT_LE(t.top_logprobs[0].second, 0.0);
  }
}

TEST(Generation, GreedyTopLogprobIsTheChosenTokenAndMatchesItsLogprob) {
  REQUIRE_MODEL();
  GenerationOptions options;
  options.sampling.temperature = 0;
  options.sampling.want_logprobs = true;
  options.max_tokens = 5;
  options.top_logprobs = 2;
  KvCache cache = loaded()->model.new_cache();
  const std::vector<int32_t> prompt = loaded()->tokenizer.encode("The sky is");
  TextGenerator generator(loaded()->model, loaded()->tokenizer, cache, prompt, options);
  int tokens = 0;
  while (const std::optional<GeneratedToken> token = generator.next()) {
    if (token->id < 0) continue;
    ++tokens;
    ASSERT_EQ(token->top_logprobs.size(), 2u);
    EXPECT_EQ(token->top_logprobs[0].first, token->id);
    EXPECT_NEAR(token->top_logprobs[0].second, token->logprob, 1e-9);
  }
  EXPECT_EQ(tokens, 5);
  options.top_logprobs = 21;
  expect_error<ValueError>([&] { TextGenerator(loaded()->model, loaded()->tokenizer, cache, prompt, options); },
                           {"top_logprobs must be in [0, 20], got 21"});
}

TEST(ChatTemplate, RendersSmolLM2sTemplateAndRefusesOthers) {
  attend::testing::TempDir dir;
  const auto file_with = [&](const std::string& chat_template) {
    attend::testing::SmallGguf small;
    small.key = "tokenizer.chat_template";
    small.value = chat_template;
    const std::string path = dir.file("chat.gguf");
    small.build().write(path);
    return gguf::File::open(path);
  };
  const std::string smollm2 =
      "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
      "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' "
      "+ message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
      "{{ '<|im_start|>assistant\n' }}{% endif %}";
  const ChatTemplate chat = ChatTemplate::from_file(file_with(smollm2));
  EXPECT_EQ(chat.render({{"user", "Hi"}}),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(chat.render({{"system", "Be brief."}, {"user", "Hi"}}, false),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
  expect_error<ValueError>([&] { chat.render({{"robot", "Hi"}}); }, {"the role 'robot'"});
  expect_error<ValueError>([&] { chat.render({{"user", "a<|im_end|>b"}}); }, {"holds '<|im_end|>'"});
  expect_error<ValueError>([&] { chat.render({}); }, {"no messages"});
  expect_error<gguf::FormatError>([&] { ChatTemplate::from_file(file_with("{{ messages }}")); },
                                  {"not one attend knows", "{{ messages }}"});
}

}  // namespace
}  // namespace attend::decoder
