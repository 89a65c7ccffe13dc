// attend.LanguageModel: a decoder language model from a GGUF file (default: the shipped
// SmolLM2-135M-Instruct), with its tokenizer, logits, generation (whole or streamed) and chat.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <memory>

#include "arrays.h"
#include "attend/bpe/gguf_vocabulary.h"
#include "attend/decoder/chat_template.h"
#include "attend/decoder/generation.h"
#include "bindings.h"

namespace nb = nanobind;

namespace attend::python {
namespace {

struct LanguageModel {
  decoder::LlamaModel model;
  bpe::BpeTokenizer tokenizer;
};

// A generation streamed as an iterator of text pieces; it owns its cache.
struct Stream {
  std::shared_ptr<const LanguageModel> owner;
  std::unique_ptr<decoder::KvCache> cache;
  std::unique_ptr<decoder::TextGenerator> generator;
};

decoder::GenerationOptions options_of(int64_t max_tokens, float temperature, int64_t top_k, float top_p, float min_p,
                                      float repeat_penalty, float frequency_penalty, float presence_penalty,
                                      uint64_t seed, const std::vector<std::string>& stop) {
  decoder::GenerationOptions options;
  options.max_tokens = max_tokens;
  options.sampling.temperature = temperature;
  options.sampling.top_k = top_k;
  options.sampling.top_p = top_p;
  options.sampling.min_p = min_p;
  options.sampling.repeat_penalty = repeat_penalty;
  options.sampling.frequency_penalty = frequency_penalty;
  options.sampling.presence_penalty = presence_penalty;
  options.sampling.seed = seed;
  options.stops = stop;
  return options;
}

std::unique_ptr<Stream> start(const std::shared_ptr<const LanguageModel>& lm, const std::vector<int32_t>& prompt,
                              const decoder::GenerationOptions& options) {
  auto stream = std::make_unique<Stream>();
  stream->owner = lm;
  stream->cache = std::make_unique<decoder::KvCache>(lm->model.new_cache(
      std::min<int64_t>(static_cast<int64_t>(prompt.size()) + options.max_tokens, lm->model.config().context_length)));
  nb::gil_scoped_release unlocked;
  stream->generator =
      std::make_unique<decoder::TextGenerator>(lm->model, lm->tokenizer, *stream->cache, prompt, options);
  return stream;
}

std::vector<decoder::ChatMessage> messages_of(const nb::list& messages) {
  std::vector<decoder::ChatMessage> result;
  for (nb::handle item : messages) {
    const nb::dict message = nb::cast<nb::dict>(item);
    ATTEND_CHECK(message.contains("role") && message.contains("content"), ValueError,
                 "chat: each message needs 'role' and 'content'");
    result.push_back({nb::cast<std::string>(message["role"]), nb::cast<std::string>(message["content"])});
  }
  return result;
}

#define ATTEND_SAMPLING_ARGS                                                                          \
  "max_tokens"_a = 256, "temperature"_a = 0.8f, "top_k"_a = 40, "top_p"_a = 0.95f, "min_p"_a = 0.05f, \
  "repeat_penalty"_a = 1.0f, "frequency_penalty"_a = 0.0f, "presence_penalty"_a = 0.0f, "seed"_a = 0, \
  "stop"_a = std::vector<std::string> {}

}  // namespace

void bind_decoder(nb::module_& m) {
  using namespace nb::literals;
  nb::class_<Stream>(m, "TextStream", "The pieces of a generation as they are chosen (an iterator of str).")
      .def("__iter__", [](nb::handle self) { return self; })
      .def("__next__",
           [](Stream& stream) {
             std::optional<decoder::GeneratedToken> token;
             {
               nb::gil_scoped_release unlocked;
               token = stream.generator->next();
             }
             if (!token) throw nb::stop_iteration();
             return token->text;
           })
      .def_prop_ro("finish_reason", [](const Stream& s) { return s.generator->result().finish_reason; })
      .def_prop_ro("tokens", [](const Stream& s) { return s.generator->result().tokens; });

  nb::class_<LanguageModel>(m, "_LanguageModel")
      .def_static(
          "load",
          [](const std::optional<std::string>& path, const std::string& weights) {
            const std::string file = path.value_or(decoder::default_model_path());
            const decoder::WeightPrecision precision = decoder::parse_weight_precision(weights);
            nb::gil_scoped_release unlocked;
            decoder::LlamaModel model = decoder::LlamaModel::load(file, precision);
            bpe::BpeTokenizer tokenizer(bpe::load_bpe_vocabulary(model.file()));
            return std::make_shared<LanguageModel>(LanguageModel{std::move(model), std::move(tokenizer)});
          },
          "path"_a = nb::none(), "weights"_a = "stored")
      .def(
          "tokenize", [](const LanguageModel& lm, const std::string& text) { return lm.tokenizer.encode(text); },
          "text"_a)
      .def(
          "detokenize",
          [](const LanguageModel& lm, const std::vector<int32_t>& ids) { return lm.tokenizer.decode(ids); }, "ids"_a)
      .def(
          "logits",
          [](const LanguageModel& lm, const std::vector<int32_t>& ids, bool all_positions) {
            Tensor<float> logits;
            {
              nb::gil_scoped_release unlocked;
              decoder::KvCache cache = lm.model.new_cache(std::max<int64_t>(1, static_cast<int64_t>(ids.size())));
              logits = lm.model.forward(ids, cache, all_positions);
            }
            return to_numpy(all_positions ? logits : logits.reshape({logits.shape()[1]}));
          },
          "ids"_a, "all_positions"_a = false)
      .def_static(
          "_stream",
          [](const std::shared_ptr<LanguageModel>& lm, const std::string& prompt, int64_t max_tokens, float temperature,
             int64_t top_k, float top_p, float min_p, float repeat_penalty, float frequency_penalty,
             float presence_penalty, uint64_t seed, const std::vector<std::string>& stop) {
            return start(lm, lm->tokenizer.encode(prompt),
                         options_of(max_tokens, temperature, top_k, top_p, min_p, repeat_penalty, frequency_penalty,
                                    presence_penalty, seed, stop));
          },
          "model"_a, "prompt"_a, ATTEND_SAMPLING_ARGS)
      .def(
          "chat_prompt",
          [](const LanguageModel& lm, const nb::list& messages) {
            return decoder::ChatTemplate::from_file(lm.model.file()).render(messages_of(messages));
          },
          "messages"_a)
      .def_prop_ro("context_length", [](const LanguageModel& lm) { return lm.model.config().context_length; })
      .def_prop_ro("vocabulary_size", [](const LanguageModel& lm) { return lm.model.config().vocabulary; })
      .def_prop_ro("name", [](const LanguageModel& lm) { return lm.model.config().name; });
  m.def("default_language_model_path", &decoder::default_model_path);
}

}  // namespace attend::python
