// The BERT tokenizer (Hugging Face's ids) and sentence embeddings of a pretrained BERT-family
// encoder (all-MiniLM-L6-v2 by default).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include "arrays.h"
#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/models/bert_gguf.h"
#include "attend/models/sentence_encoder.h"
#include "attend/quant/quantized_matrix.h"
#include "attend/text/bert_tokenizer.h"
#include "bindings.h"

namespace attend::python {
namespace {

// The shipped model's directory unless `directory` names one.
std::string model_directory(const std::optional<std::string>& directory) {
  if (directory) return *directory;
  const std::string shipped = text::default_minilm_directory();
  ATTEND_CHECK(!shipped.empty(), ValueError,
               "no model directory given, and no all-MiniLM-L6-v2 was found (run scripts/setup, or set ATTEND_MINILM)");
  return shipped;
}

text::EncodeOptions encode_options(std::optional<int64_t> max_length, bool truncate) {
  ATTEND_CHECK(!truncate || max_length, ValueError, "truncate=True needs max_length");
  return {max_length, truncate};
}

void bind_encoding(nb::module_& m) {
  nb::class_<text::Encoding>(m, "Encoding", "One text's (or pair's) ids, with [CLS] and [SEP].")
      .def_ro("ids", &text::Encoding::ids)
      .def_ro("token_type_ids", &text::Encoding::token_type_ids)
      .def_ro("attention_mask", &text::Encoding::attention_mask)
      .def_ro("tokens", &text::Encoding::tokens)
      .def_ro("truncated", &text::Encoding::truncated)
      .def_ro("untruncated_length", &text::Encoding::untruncated_length)
      .def("__repr__", [](const text::Encoding& e) { return "Encoding(" + std::to_string(e.ids.size()) + " ids)"; });
}

void bind_tokenizer(nb::module_& m) {
  using namespace nb::literals;
  nb::class_<text::BertTokenizer>(m, "BertTokenizer",
                                  "BERT's BasicTokenizer + WordPiece, id for id as Hugging Face `tokenizers`.")
      .def_static(
          "from_directory",
          [](const std::optional<std::string>& directory) {
            return text::BertTokenizer::from_directory(model_directory(directory));
          },
          "directory"_a = nb::none(), "vocab.txt and tokenizer_config.json of a model (default: all-MiniLM-L6-v2).")
      .def("tokenize", &text::BertTokenizer::tokenize, "text"_a, "The word pieces of `text`, without [CLS]/[SEP].")
      .def(
          "encode",
          [](const text::BertTokenizer& tokenizer, const std::string& text, std::optional<int64_t> max_length,
             bool truncate) { return tokenizer.encode(text, encode_options(max_length, truncate)); },
          "text"_a, "max_length"_a = nb::none(), "truncate"_a = false,
          "[CLS] text [SEP]; longer than max_length is an error unless truncate=True.")
      .def(
          "encode_pair",
          [](const text::BertTokenizer& tokenizer, const std::string& first, const std::string& second,
             std::optional<int64_t> max_length,
             bool truncate) { return tokenizer.encode_pair(first, second, encode_options(max_length, truncate)); },
          "first"_a, "second"_a, "max_length"_a = nb::none(), "truncate"_a = false,
          "[CLS] first [SEP] second [SEP], token_type_ids 0 then 1.")
      .def_prop_ro("vocabulary_size",
                   [](const text::BertTokenizer& tokenizer) { return tokenizer.vocabulary().size(); });
}

void bind_sentence_encoder(nb::module_& m) {
  using namespace nb::literals;
  nb::class_<models::SentenceEncoder>(m, "SentenceEncoder",
                                      "Sentence embeddings of a pretrained BERT-family encoder, as "
                                      "sentence-transformers computes them (pooling and normalization from the "
                                      "model's config).")
      .def_static(
          "from_directory",
          [](const std::optional<std::string>& directory) {
            const std::string path = model_directory(directory);
            nb::gil_scoped_release unlocked;
            return std::make_unique<models::SentenceEncoder>(models::load_sentence_encoder(path));
          },
          "directory"_a = nb::none(),
          "A Hugging Face / sentence-transformers directory (default: all-MiniLM-L6-v2), or a GGUF file of one "
          "that quantize_bert (attend quantize) wrote.")
      .def(
          "embed",
          [](models::SentenceEncoder& encoder, const std::vector<std::string>& texts, int64_t batch_size) {
            ATTEND_CHECK(batch_size >= 1, ValueError, "batch_size must be at least 1, got {}", batch_size);
            models::SentenceEmbeddings embeddings;
            {
              nb::gil_scoped_release unlocked;
              embeddings = encoder.embed(texts, batch_size);
            }
            return to_numpy(embeddings.vectors);
          },
          "texts"_a, "batch_size"_a = 32,
          "(N, E) float32 embeddings; bitwise the same for any batch_size where BLIS runs its AVX-512 "
          "kernels (blas_description() says 'kernels skx'), else equal to float rounding.")
      .def(
          "token_embeddings",
          [](models::SentenceEncoder& encoder, const std::string& text) {
            const std::vector<text::Encoding> encodings = encoder.encode({text});
            Tensor<float> hidden;  // (n, E)
            {
              nb::gil_scoped_release unlocked;
              NoGradGuard no_grad;
              hidden = encoder.model().forward(models::pack_encodings(encodings)).last_hidden_state;
            }
            return to_numpy(hidden);
          },
          "text"_a,
          "The last layer's hidden state of every token of `text` ([CLS] and [SEP] included), (n, E), before "
          "pooling.")
      .def("encode", &models::SentenceEncoder::encode, "texts"_a,
           "Each text's Encoding as the encoder sees it (cut to the model's maximum length).")
      .def_prop_ro("dimension", &models::SentenceEncoder::dimension)
      .def_prop_ro("max_length", [](const models::SentenceEncoder& e) { return e.config().max_length; });
}

}  // namespace

void bind_text(nb::module_& m) {
  bind_encoding(m);
  bind_tokenizer(m);
  bind_sentence_encoder(m);
  using namespace nb::literals;
  m.def(
      "quantize_bert",
      [](const std::string& directory, const std::string& type, const std::string& out, bool overwrite) {
        const quant::QuantFormat format = quant::parse_quant_format(type);
        nb::gil_scoped_release unlocked;
        models::write_bert_gguf(directory, format, out, overwrite);
      },
      "directory"_a, "type"_a, "out"_a, "overwrite"_a = false,
      "`attend quantize`: the BERT-family model directory as one GGUF file at `out`, its encoder layers' "
      "projections in `type` ('q8_0', 'q4_0' or 'q4_1') blocks; SentenceEncoder.from_directory(out) loads it. "
      "OSError when `out` exists and not overwrite.");
  m.def("default_model_directory", &text::default_minilm_directory,
        "Where all-MiniLM-L6-v2 is, found now: ATTEND_MINILM, else the data directory ('' when in neither).");
}

}  // namespace attend::python
