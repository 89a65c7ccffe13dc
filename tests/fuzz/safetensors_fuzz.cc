// Fuzz target: a safetensors file (io/safetensors.h) from arbitrary bytes, then the same file as
// each of attend's own checkpoints (the metadata's model description checked against the tensor
// table before a model is built: models/*_factory.h, models/text_classifier.h).
//
// Invariants of a file that loads: every tensor is contiguous, its bytes fit in the input, and a
// name looks up the tensor it names.
#include <cstdint>
#include <string>
#include <variant>

#include "attend/io/safetensors.h"
#include "attend/models/g2p_factory.h"
#include "attend/models/image_classifier_factory.h"
#include "attend/models/text_classifier.h"
#include "fuzz/fuzz_input.h"

namespace {

using namespace attend;

void check_loaded(const io::SafetensorsFile& file, size_t input_size) {
  double bytes = 0;
  for (const auto& [name, tensor] : file.tensors()) {
    const int64_t numel = std::visit([](const auto& t) { return t.numel(); }, tensor);
    const bool contiguous = std::visit([](const auto& t) { return t.is_contiguous(); }, tensor);
    ATTEND_FUZZ_REQUIRE(numel >= 0 && contiguous);
    ATTEND_FUZZ_REQUIRE(shape_numel(io::shape_of(tensor)) == numel);
    bytes += static_cast<double>(numel) * static_cast<double>(io::dtype_size(io::dtype_of(tensor)));
    ATTEND_FUZZ_REQUIRE(&file.at(name) == &tensor);
    (void)io::first_non_finite(tensor);
  }
  ATTEND_FUZZ_REQUIRE(bytes <= static_cast<double>(input_size));
}

// attend's checkpoints: the metadata parsed, its sizes checked against the tensors, and the
// model built only when they agree; a text classifier's tokenizer (vocab.txt and
// tokenizer_config.json held in the metadata) built and checked against its embedding. (An older
// classifier's metadata names directories instead: the fuzzer's would name none that exist.)
void load_as_checkpoints(const io::SafetensorsFile& file) {
  fuzz::run_reader([&] { (void)models::load_g2p_model(file); });
  fuzz::run_reader([&] { (void)models::load_image_classifier(file); });
  fuzz::run_reader([&] { (void)models::load_text_classifier(file); });
  fuzz::run_reader([&] {
    const models::TextClassifierConfig config = models::text_classifier_config_of(file.metadata(), file.path());
    const text::BertTokenizer tokenizer = models::classifier_tokenizer(config, file.path());
    ATTEND_FUZZ_REQUIRE(config.encoder == "bert" || tokenizer.vocabulary().size() == config.vocabulary);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_input_file(fuzz::bytes_of(data, size), "model.safetensors");
  return fuzz::run_reader([&] {
    const io::SafetensorsFile file = io::load_safetensors(path);
    check_loaded(file, size);
    load_as_checkpoints(file);
  });
}
